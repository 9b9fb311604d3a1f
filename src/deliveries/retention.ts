import type { DataSource } from 'typeorm';
import { cutoffOf, PURGE_PHASES, type PurgePhase, type PurgePlan } from '../../workflows/retention-plan';

export { purgePlan } from '../../workflows/retention-plan';

// Only finished deliveries go: pending and retrying ones are still being driven by their workflow. A row
// touched after the cut-off (a redelivery asked for later) stays too. Each statement is its own short
// transaction; SKIP LOCKED steps over rows a worker is writing instead of waiting for them.
const finished = (d: string) => `${d}.status IN ('success', 'failed', 'superseded') AND ${d}.created_at < $1 AND ${d}.updated_at < $1`;
const FINISHED = finished('r');

// Each batch walks forward from where the previous one stopped ($3, the oldest time still to look at), so
// rows it keeps (in flight, touched lately) are read once per run, not once per batch.
const pick = (table: 'deliveries' | 'emissions', at: string, where: string) => `
  SELECT id, ${at} AS at FROM ${table} r WHERE ${where} AND ${at} >= $3 ORDER BY ${at} LIMIT $2 FOR UPDATE SKIP LOCKED`;
const batchOf = (picked: string, change: string) => `
  WITH picked AS (${picked}), changed AS (${change} WHERE id IN (SELECT id FROM picked) RETURNING 1)
  SELECT (SELECT count(*) FROM changed)::int AS n, (SELECT extract(epoch FROM max(at)) * 1000 FROM picked)::float8 AS at`;

const STATEMENTS: Record<PurgePhase, string> = {
  // delivery_attempts go with their delivery (ON DELETE CASCADE)
  deliveries: batchOf(pick('deliveries', 'created_at', FINISHED), 'DELETE FROM deliveries'),
  // the requests and responses kept with the attempts go with the payload (they hold it, as sent); a row's own
  // copy of the payload (from before it was stored once, or DELIVERY_PAYLOAD_COPY) becomes {}, a row without
  // one (NULL) keeps none; the mark says the delivery's payload is gone, whatever its emission still holds
  deliveryPayloads: `
  WITH picked AS (${pick('deliveries', 'created_at', `payload_purged_at IS NULL AND ${FINISHED}`)}),
       changed AS (UPDATE deliveries SET payload = CASE WHEN payload IS NULL THEN NULL ELSE '{}'::jsonb END, payload_purged_at = now()
                    WHERE id IN (SELECT id FROM picked) RETURNING 1),
       exchanges AS (UPDATE delivery_attempts SET exchanges = NULL WHERE delivery_id IN (SELECT id FROM picked) AND exchanges IS NOT NULL)
  SELECT (SELECT count(*) FROM changed)::int AS n, (SELECT extract(epoch FROM max(at)) * 1000 FROM picked)::float8 AS at`,
  // an emission goes once no delivery refers to it any more (its in-flight deliveries keep it)
  emissions: batchOf(
    pick('emissions', 'received_at', `received_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.emission_id = r.id)`),
    'DELETE FROM emissions',
  ),
  // the payload of all its deliveries (src/deliveries/payload.ts): it goes once none of them would keep its
  // own copy, i.e. every one is finished and neither created nor touched since the cut-off (the rule of the
  // deliveryPayloads phase)
  emissionPayloads: batchOf(
    pick(
      'emissions',
      'received_at',
      `payload_purged_at IS NULL AND received_at < $1
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.emission_id = r.id AND NOT (${finished('d')}))`,
    ),
    `UPDATE emissions SET payload = '{}'::jsonb, payload_purged_at = now()`,
  ),
};

/** Deletes old delivery log rows and drops old payloads, in batches of short transactions. */
export class RetentionPurger {
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: { batchSize: number; batchPauseMs: number },
  ) {}

  /**
   * One batch of a phase from `fromMs` on: how many rows it deleted or purged (fewer than the batch size: the
   * phase is done) and the time of the newest row it picked, where the next batch starts.
   */
  async batch(phase: PurgePhase, beforeMs: number, fromMs = 0): Promise<{ n: number; atMs: number | null }> {
    const rows: { n: number; at: number | null }[] = await this.dataSource.query(STATEMENTS[phase], [
      new Date(beforeMs),
      this.options.batchSize,
      new Date(Math.floor(fromMs)),
    ]);
    return { n: rows[0].n, atMs: rows[0].at };
  }

  /**
   * Runs batches of one phase until it is done or `budgetMs` has passed, pausing `batchPauseMs` between
   * batches so ingest and the workers get the database in between; `onBatch` is called after each one.
   * `fromMs` (0: the oldest) and the returned `resumeAtMs` carry the walk across calls.
   */
  async phase(
    plan: PurgePlan,
    phase: PurgePhase,
    budgetMs = Number.POSITIVE_INFINITY,
    onBatch: (purged: number) => void = () => {},
    fromMs = 0,
  ): Promise<{ purged: number; done: boolean; resumeAtMs: number }> {
    const beforeMs = cutoffOf(plan, phase);
    if (beforeMs === null) return { purged: 0, done: true, resumeAtMs: fromMs };
    const deadline = Date.now() + budgetMs;
    let purged = 0;
    let at = fromMs;
    for (;;) {
      const b = await this.batch(phase, beforeMs, at);
      purged += b.n;
      if (b.atMs !== null) at = b.atMs;
      onBatch(b.n);
      if (b.n < this.options.batchSize) return { purged, done: true, resumeAtMs: at };
      if (Date.now() >= deadline) return { purged, done: false, resumeAtMs: at };
      if (this.options.batchPauseMs > 0) await new Promise((r) => setTimeout(r, this.options.batchPauseMs));
    }
  }

  /** Every phase to its end, in order (rows first, so no payload is purged on a row about to go). */
  async all(plan: PurgePlan, onBatch?: (phase: PurgePhase, purged: number) => void): Promise<Record<PurgePhase, number>> {
    const totals = { deliveries: 0, deliveryPayloads: 0, emissions: 0, emissionPayloads: 0 };
    for (const phase of PURGE_PHASES) {
      totals[phase] = (await this.phase(plan, phase, undefined, (n) => onBatch?.(phase, n))).purged;
    }
    return totals;
  }
}
