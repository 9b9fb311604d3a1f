import type { DataSource } from 'typeorm';
import type { TargetHealthConfig } from '../config';

/** One target's health as the API shows it. */
export interface TargetView {
  target: string;
  provider: string;
  state: 'closed' | 'open' | 'half_open';
  /** Failed share of the attempts in the current window (0..1); null without attempts in it. */
  failureRate: number | null;
  attemptsInWindow: number;
  openedAt: string | null;
  /** When an open circuit lets its next probe through. */
  nextProbeAt: string | null;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** Subscriptions whose last attempt went to this target. */
  subscriptions: { id: string; name: string; enabled: boolean; pausedReason: string | null }[];
}

interface Row {
  target_key: string;
  provider: string;
  state: TargetView['state'];
  opened_at: Date | null;
  probe_at: Date | null;
  failing_since: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  total: string;
  failed: string;
  subscriptions: TargetView['subscriptions'] | null;
}

/** Reads target health (written by the attempts, src/targets/circuits.ts) for `GET /targets` and the subscription view. */
export class TargetService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: Pick<TargetHealthConfig, 'windowMs'>,
  ) {}

  /** Targets by key; `state` filters. Keyset page on the target key (`after` = the last key of the previous page). */
  async list(filter: { state?: TargetView['state'] }, limit: number, after?: string): Promise<{ items: TargetView[]; next?: string }> {
    const rows = await this.query(
      `WHERE ($2::text IS NULL OR t.state = $2) AND ($3::text IS NULL OR t.target_key > $3)
       ORDER BY t.target_key LIMIT $4`,
      [filter.state ?? null, after ?? null, limit + 1],
    );
    const items = rows.slice(0, limit).map(view);
    return { items, next: rows.length > limit ? items[items.length - 1].target : undefined };
  }

  /** The health of the target a subscription last delivered to; null before its first attempt. */
  async ofSubscription(subscriptionId: string): Promise<TargetView | null> {
    const rows = await this.query(`WHERE t.target_key = (SELECT target_key FROM subscriptions WHERE id = $2) LIMIT 1`, [subscriptionId]);
    return rows[0] ? view(rows[0]) : null;
  }

  private query(where: string, params: unknown[]): Promise<Row[]> {
    return this.dataSource.query(
      `SELECT t.target_key, t.provider, t.state, t.opened_at, t.probe_at, t.failing_since, t.last_success_at, t.last_failure_at,
              w.total, w.failed, s.subscriptions
         FROM target_health t
         LEFT JOIN LATERAL (
           SELECT count(*) AS total, count(*) FILTER (WHERE NOT o.ok) AS failed FROM target_outcomes o
            WHERE o.target_key = t.target_key
              AND o.at > GREATEST(now() - make_interval(secs => $1::float8 / 1000), COALESCE(t.window_from, '-infinity'::timestamptz))
         ) w ON true
         LEFT JOIN LATERAL (
           SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'enabled', s.enabled, 'pausedReason', s.paused_reason) ORDER BY s.id) AS subscriptions
             FROM subscriptions s WHERE s.target_key = t.target_key
         ) s ON true
       ${where}`,
      [this.config.windowMs, ...params],
    );
  }
}

function view(r: Row): TargetView {
  const total = Number(r.total);
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    target: r.target_key,
    provider: r.provider,
    state: r.state,
    failureRate: total ? Number(r.failed) / total : null,
    attemptsInWindow: total,
    openedAt: iso(r.opened_at),
    nextProbeAt: r.state === 'open' ? iso(r.probe_at) : null,
    failingSince: iso(r.failing_since),
    lastSuccessAt: iso(r.last_success_at),
    lastFailureAt: iso(r.last_failure_at),
    subscriptions: r.subscriptions ?? [],
  };
}
