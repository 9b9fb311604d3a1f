import { Gauge, type Registry } from 'prom-client';
import { OPEN_DELIVERY_STATUSES } from '../../entities/delivery.entity';
import { METRIC_NAMES } from './deliveries';

/** What the backlog gauges query: PostgreSQL (a DataSource or anything with its `query`). */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const OPEN_STATUSES = OPEN_DELIVERY_STATUSES;

/**
 * Registers the gauges computed from PostgreSQL at scrape time: deliveries not yet ended by status,
 * the age of the oldest of them, and the targets whose circuit is not closed (target_health, one row
 * per target). Both read the (status, created_at) index: the count of a status
 * as an index range, the oldest as its first entry. A failed query leaves the gauges unset for that
 * scrape (the scrape itself still answers).
 */
export function registerBacklogGauges(registry: Registry, db: Queryable): void {
  new Gauge({
    name: METRIC_NAMES.backlog,
    help: 'Deliveries not yet ended, by status (pending: not attempted yet; retrying: waiting for the next attempt)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = (await db.query(
        `SELECT status, count(*)::int AS n FROM deliveries WHERE status = ANY($1) GROUP BY status`,
        [OPEN_STATUSES],
      ).catch(() => undefined)) as { status: string; n: number }[] | undefined;
      if (!rows) return;
      for (const s of OPEN_STATUSES) this.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.oldestPendingAge,
    help: 'Age in seconds of the oldest delivery not yet ended, by status (0 when there is none)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      // one index lookup per status: min(created_at) of an index range (status, created_at DESC)
      const rows = (await db.query(
        `SELECT s.status, EXTRACT(EPOCH FROM clock_timestamp() - (SELECT min(created_at) FROM deliveries d WHERE d.status = s.status))::float8 AS age
           FROM unnest($1::text[]) AS s(status)`,
        [OPEN_STATUSES],
      ).catch(() => undefined)) as { status: string; age: number | null }[] | undefined;
      if (!rows) return;
      for (const r of rows) this.set({ status: r.status }, Math.max(0, r.age ?? 0));
    },
  });
  new Gauge({
    name: METRIC_NAMES.openCircuits,
    help: 'Delivery targets whose circuit is not closed, by state (open: attempts wait; half_open: one probe in flight)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = (await db.query(
        `SELECT state, count(*)::int AS n FROM target_health WHERE state <> 'closed' GROUP BY state`,
      ).catch(() => undefined)) as { state: string; n: number }[] | undefined;
      if (!rows) return;
      for (const state of ['open', 'half_open']) this.set({ state }, rows.find((r) => r.state === state)?.n ?? 0);
    },
  });
}

/** Age in seconds of the oldest `pending` delivery (not attempted yet), 0 when there is none; one index lookup. */
export async function oldestPendingAgeSeconds(db: Queryable): Promise<number> {
  const rows = (await db.query(
    `SELECT EXTRACT(EPOCH FROM clock_timestamp() - (SELECT min(created_at) FROM deliveries WHERE status = 'pending'))::float8 AS age`,
  )) as { age: number | null }[];
  return Math.max(0, rows[0]?.age ?? 0);
}
