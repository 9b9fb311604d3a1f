import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { isActiveSql, matchesEmissionSql } from '../ingest/matching';
import { insertDeliveriesSql } from './new-rows';
import { DEFAULT_PAYLOAD_COPY } from './payload';
import type { DeliveryRef } from '../temporal/deliveries';

/** A replay as the API shows it (docs/delivery.md "Replaying missed events"). */
export interface ReplayView {
  id: string;
  subscriptionId: string;
  status: 'running' | 'done' | 'failed';
  since: string;
  /** The end of the range (exclusive); the time of the request when it was left out. */
  until: string;
  /** Emissions in the range that the subscription matches, counted when the replay was asked for. */
  total: number;
  /** Emissions handed to the subscription by this replay (a new delivery each). */
  delivered: number;
  /** Emissions the subscription already had a delivery of (delivered, failed or in progress): left alone. */
  existing: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface ReplayRow {
  id: string;
  subscription_id: string;
  status: ReplayView['status'];
  since: Date;
  until: Date;
  total: number;
  delivered: number;
  existing: number;
  cursor: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** Where a replay stands, for its next batch. */
interface ReplayPosition {
  subscriptionId: string;
  since: string;
  until: string;
  cursor: string | null;
}

/** A new delivery of a replay batch (a DeliveryRef of the workflow start). */
type NewDelivery = DeliveryRef;

// the emissions of a range that subscription $1 matches (its current event and systems), test sends aside
const MATCHED_EMISSIONS = `
  FROM emissions e JOIN subscriptions s ON s.id = $1 AND ${matchesEmissionSql('s', 'e.event', 'e.system_ids')}
 WHERE NOT e.test AND e.received_at >= $2 AND e.received_at < $3`;

/**
 * The `replays` table and the statements of a replay: which emissions a subscription missed, and their
 * deliveries, inserted under the deliveries' unique (emission, subscription) key so none is made twice.
 */
export class ReplayStore {
  constructor(
    private readonly dataSource: DataSource,
    /** DELIVERY_PAYLOAD_COPY: new delivery rows also carry the payload (src/deliveries/payload.ts). */
    private readonly payloadCopy: boolean = DEFAULT_PAYLOAD_COPY,
  ) {}

  /** Stores a new replay of the subscription's matches in [since, until); `until` defaults to now. */
  async create(subscriptionId: string, since: string, until?: string, db: { query(sql: string, params?: unknown[]): Promise<any> } = this.dataSource): Promise<ReplayView> {
    const end = until ?? new Date().toISOString();
    const [{ n }]: { n: string }[] = await db.query(`SELECT count(*) AS n ${MATCHED_EMISSIONS}`, [subscriptionId, since, end]);
    const rows: ReplayRow[] = await db.query(
      `INSERT INTO replays (id, subscription_id, since, until, status, total) VALUES ($1, $2, $3, $4, 'running', $5) RETURNING *`,
      [`rpl_${crypto.randomUUID().replace(/-/g, '')}`, subscriptionId, since, end, Number(n)],
    );
    return view(rows[0]);
  }

  async get(id: string): Promise<ReplayView | undefined> {
    const rows: ReplayRow[] = await this.dataSource.query('SELECT * FROM replays WHERE id = $1', [id]);
    return rows[0] ? view(rows[0]) : undefined;
  }

  async position(id: string): Promise<ReplayPosition | undefined> {
    const rows: ReplayRow[] = await this.dataSource.query('SELECT * FROM replays WHERE id = $1', [id]);
    const r = rows[0];
    return r && { subscriptionId: r.subscription_id, since: r.since.toISOString(), until: r.until.toISOString(), cursor: r.cursor };
  }

  /** Whether the subscription is taking deliveries (exists, enabled, not paused). */
  async isActive(subscriptionId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(`SELECT 1 FROM subscriptions s WHERE s.id = $1 AND ${isActiveSql('s')}`, [subscriptionId]);
    return rows.length > 0;
  }

  /** The ids of the next `limit` matched emissions after emission id `after` (id order). */
  async nextEmissions(at: ReplayPosition, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT e.id ${MATCHED_EMISSIONS} AND ($4::text IS NULL OR e.id > $4) ORDER BY e.id LIMIT $5`,
      [at.subscriptionId, at.since, at.until, at.cursor, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Gives the subscription a delivery of each emission it has none of (while it is active), and returns the
   * deliveries of these emissions whose workflows still have to start: the new ones, and those a retried
   * batch inserted before it was lost. `inserted` counts only the rows this call made.
   */
  async insertDeliveries(subscriptionId: string, emissionIds: string[]): Promise<{ inserted: number; unstarted: NewDelivery[] }> {
    return this.dataSource.transaction(async (tx) => {
      const inserted: unknown[] = await tx.query(
        insertDeliveriesSql({
          emission: { id: 'e.id', event: 'e.event', systemIds: 'e.system_ids', payload: 'e.payload' },
          payloadCopy: this.payloadCopy,
          from: `FROM emissions e JOIN subscriptions s ON s.id = $1 AND ${isActiveSql('s')} AND ${matchesEmissionSql('s', 'e.event', 'e.system_ids')}
          WHERE e.id = ANY($2)`,
          tail: 'ON CONFLICT (emission_id, subscription_id) DO NOTHING',
          returning: 'id',
        }),
        [subscriptionId, emissionIds],
      );
      const unstarted: { id: string; workflow_id: string; subscription_id: string; event: string; provider: string; status: string }[] = await tx.query(
        `SELECT id, workflow_id, subscription_id, event, provider, status FROM deliveries
          WHERE subscription_id = $1 AND emission_id = ANY($2) AND NOT workflow_started`,
        [subscriptionId, emissionIds],
      );
      return {
        inserted: inserted.length,
        unstarted: unstarted.map((d) => ({ id: d.id, workflowId: d.workflow_id, subscriptionId: d.subscription_id, event: d.event, provider: d.provider, status: d.status })),
      };
    });
  }

  /**
   * Those of `emissionIds` the subscription has no started delivery of (none yet, or one whose workflow a lost
   * batch did not start), in the given order: what a replay batch still has to hand over.
   */
  async withoutStartedDelivery(subscriptionId: string, emissionIds: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT e.id FROM unnest($2::text[]) WITH ORDINALITY AS e(id, n)
        WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscription_id = $1 AND d.emission_id = e.id AND d.workflow_started)
        ORDER BY e.n`,
      [subscriptionId, emissionIds],
    );
    return rows.map((r) => r.id);
  }

  /** Marks deliveries whose workflows started. */
  async markStarted(ids: string[]): Promise<void> {
    if (ids.length) await this.dataSource.query(`UPDATE deliveries SET workflow_started = true WHERE id = ANY($1)`, [ids]);
  }

  /**
   * Adds a batch's counts and moves the cursor from `from` to `to`; false (nothing changed) when the cursor
   * was no longer at `from`, i.e. this batch was already counted (a retried activity).
   */
  async advance(id: string, from: string | null, to: string, delivered: number, existing: number): Promise<boolean> {
    // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count] (always 2 long)
    const rows: unknown[] = await this.dataSource.query(
      `WITH u AS (UPDATE replays SET delivered = delivered + $3, existing = existing + $4, cursor = $2, updated_at = now()
        WHERE id = $1 AND cursor IS NOT DISTINCT FROM $5 RETURNING id) SELECT id FROM u`,
      [id, to, delivered, existing, from],
    );
    return rows.length > 0;
  }

  async finish(id: string, status: 'done' | 'failed', error?: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE replays SET status = $2, error = $3, finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'running'`,
      [id, status, error ?? null],
    );
  }
}

function view(r: ReplayRow): ReplayView {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    status: r.status,
    since: r.since.toISOString(),
    until: r.until.toISOString(),
    total: r.total,
    delivered: r.delivered,
    existing: r.existing,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}
