import type { DataSource } from 'typeorm';
import type { Position } from '../api/cursor';
import { matchesEmissionSql } from '../ingest/matching';

/** Why an emission did not reach a subscription. */
type UndeliveredReason = 'failed' | 'skipped';

/** One emission × subscription that ended without a delivery reaching the target. */
export interface UndeliveredItem {
  emissionId: string;
  subscriptionId: string;
  event: string;
  /** `failed`: its delivery ended failed; `skipped`: it has no delivery (subscription disabled, paused or absent then). */
  reason: UndeliveredReason;
  /** The failed delivery; null when skipped. */
  deliveryId: string | null;
  /** When the hub received the emission. */
  receivedAt: string;
}

export interface UndeliveredFilter {
  since: string;
  subscriptionId?: string;
  event?: string;
}

interface Row {
  emission_id: string;
  subscription_id: string;
  event: string;
  reason: UndeliveredReason;
  delivery_id: string | null;
  received_at: Date;
}

/**
 * Emissions × subscriptions that ended failed or were skipped, newest first, keyset-paged on (receivedAt,
 * emission:subscription). "Skipped" pairs are the emissions a subscription matches now (ingest's rule) and
 * has no delivery of; test sends are left out.
 */
export async function listUndelivered(
  dataSource: DataSource,
  f: UndeliveredFilter,
  limit: number,
  after?: Position,
): Promise<{ items: UndeliveredItem[]; next?: Position }> {
  const params: unknown[] = [f.since, f.subscriptionId ?? null, f.event ?? null];
  let page = '';
  if (after) {
    params.push(after.createdAt, after.id);
    page = `AND (u.received_at, u.key) < ($4::timestamptz, $5::text)`;
  }
  params.push(limit + 1);
  const rows: Row[] = await dataSource.query(
    `SELECT u.emission_id, u.subscription_id, u.event, u.reason, u.delivery_id, u.received_at FROM (
       SELECT d.emission_id, d.subscription_id, d.event, 'failed' AS reason, d.id AS delivery_id, date_trunc('milliseconds', e.received_at) AS received_at,
              d.emission_id || ':' || d.subscription_id AS key
         FROM deliveries d JOIN emissions e ON e.id = d.emission_id
        WHERE d.status = 'failed' AND NOT d.test AND e.received_at >= $1
          AND ($2::text IS NULL OR d.subscription_id = $2) AND ($3::text IS NULL OR d.event = $3)
       UNION ALL
       SELECT e.id, s.id, e.event, 'skipped', NULL, date_trunc('milliseconds', e.received_at), e.id || ':' || s.id
         FROM emissions e JOIN subscriptions s ON ${matchesEmissionSql('s', 'e.event', 'e.system_ids')}
        WHERE NOT e.test AND e.received_at >= $1
          AND ($2::text IS NULL OR s.id = $2) AND ($3::text IS NULL OR e.event = $3)
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.emission_id = e.id AND d.subscription_id = s.id)
     ) u WHERE true ${page}
     ORDER BY u.received_at DESC, u.key DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map((r) => ({
    emissionId: r.emission_id,
    subscriptionId: r.subscription_id,
    event: r.event,
    reason: r.reason,
    deliveryId: r.delivery_id,
    receivedAt: r.received_at.toISOString(),
  }));
  const last = items[items.length - 1];
  return { items, next: more && last ? { createdAt: last.receivedAt, id: `${last.emissionId}:${last.subscriptionId}` } : undefined };
}
