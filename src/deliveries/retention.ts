import type { DataSource } from 'typeorm';
import { cutoffOf, PURGE_PHASES, type PurgePhase, type PurgePlan } from '../../workflows/retention-plan';

export { purgePlan, type PurgePhase, type PurgePlan } from '../../workflows/retention-plan';

// Only finished deliveries go: pending and retrying ones are still being driven by their workflow. A row
// touched after the cut-off (a redelivery asked for later) stays too. Each statement is its own short
// transaction; SKIP LOCKED steps over rows a worker is writing instead of waiting for them.
const FINISHED = `status IN ('success', 'failed') AND created_at < $1 AND updated_at < $1`;

const STATEMENTS: Record<PurgePhase, string> = {
  // delivery_attempts go with their delivery (ON DELETE CASCADE)
  deliveries: `
    DELETE FROM deliveries WHERE id IN (
      SELECT id FROM deliveries WHERE ${FINISHED} ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  deliveryPayloads: `
    UPDATE deliveries SET payload = '{}'::jsonb, payload_purged_at = now() WHERE id IN (
      SELECT id FROM deliveries WHERE payload_purged_at IS NULL AND ${FINISHED} ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  // an emission goes once no delivery refers to it any more (its in-flight deliveries keep it)
  emissions: `
    DELETE FROM emissions WHERE id IN (
      SELECT e.id FROM emissions e
       WHERE e.received_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.emission_id = e.id)
       ORDER BY e.received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  emissionPayloads: `
    UPDATE emissions SET payload = '{}'::jsonb, payload_purged_at = now() WHERE id IN (
      SELECT e.id FROM emissions e
       WHERE e.payload_purged_at IS NULL AND e.received_at < $1
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.emission_id = e.id AND d.status IN ('pending', 'retrying'))
       ORDER BY e.received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
};

/** Deletes old delivery log rows and drops old payloads, in batches of short transactions. */
export class RetentionPurger {
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: { batchSize: number; batchPauseMs: number },
  ) {}

  /** One batch of a phase: how many rows it deleted or purged (fewer than the batch size: the phase is done). */
  async batch(phase: PurgePhase, beforeMs: number): Promise<number> {
    const [, affected] = (await this.dataSource.query(STATEMENTS[phase], [new Date(beforeMs), this.options.batchSize])) as [unknown, number];
    return affected;
  }

  /**
   * Runs batches of one phase until it is done or `budgetMs` has passed, pausing `batchPauseMs` between
   * batches so ingest and the workers get the database in between; `onBatch` is called after each one.
   */
  async phase(
    plan: PurgePlan,
    phase: PurgePhase,
    budgetMs = Number.POSITIVE_INFINITY,
    onBatch: (purged: number) => void = () => {},
  ): Promise<{ purged: number; done: boolean }> {
    const beforeMs = cutoffOf(plan, phase);
    if (beforeMs === null) return { purged: 0, done: true };
    const deadline = Date.now() + budgetMs;
    let purged = 0;
    for (;;) {
      const n = await this.batch(phase, beforeMs);
      purged += n;
      onBatch(n);
      if (n < this.options.batchSize) return { purged, done: true };
      if (Date.now() >= deadline) return { purged, done: false };
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
