import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../../entities/delivery.entity';
import type { Logger } from '../logger';
import type { IngestService } from './service';

/** How old an unstarted delivery must be before the reconciler takes it (the ingest request may still be starting it). */
const RECONCILE_GRACE_MS = 5_000;
/** Default of RECONCILE_BATCH: rows a pass takes (small: a backlog drains at the pace Temporal takes starts). */
const RECONCILE_BATCH = 50;
/** The pause before the next pass while a backlog drains (every start of a full batch succeeded). */
const DRAIN_PAUSE_MS = 200;
/** The longest pause between passes while starts keep failing (doubling from the interval). */
const MAX_BACKOFF_MS = 300_000;

/**
 * Starts workflows for deliveries that were committed but never started (a crash, a Temporal outage or a
 * saturated Temporal between the database commit and the start), so an accepted event is never lost
 * (docs/DESIGN.md decision 2). Bounded (issue 22): small batches through the ingest's start pacer, the next
 * batch at once only while every start succeeds, and a doubling pause while starts fail, never bursts.
 */
export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  /** The pause before the next pass (ms): the interval, shorter while draining, longer while starts fail. */
  private nextDelayMs = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ingest: IngestService,
    private readonly logger: Logger,
    private readonly graceMs = RECONCILE_GRACE_MS,
    private readonly batch = RECONCILE_BATCH,
  ) {}

  /** One pass: starts up to `batch` stranded deliveries; returns how many were started. */
  async reconcileOnce(batch = this.batch): Promise<number> {
    return (await this.pass(batch)).started;
  }

  private async pass(batch: number): Promise<{ taken: number; started: number }> {
    const rows = await this.dataSource
      .getRepository(DeliveryEntity)
      .createQueryBuilder('d')
      .where('d.workflow_started = false')
      .andWhere(`d.created_at < now() - make_interval(secs => :secs)`, { secs: this.graceMs / 1000 })
      .orderBy('d.created_at', 'ASC')
      .limit(batch)
      .getMany();
    if (rows.length === 0) return { taken: 0, started: 0 };
    const started = await this.ingest.startWorkflows(rows);
    if (started) this.logger.info({ started, of: rows.length }, 'reconciler started stranded deliveries');
    return { taken: rows.length, started };
  }

  /** Runs a pass every `intervalMs` (sooner while a backlog drains, later while starts fail) until stopped; passes never overlap. */
  start(intervalMs = 10_000): void {
    const tick = () => {
      this.running = this.pass(this.batch)
        .then(({ taken, started }) => {
          if (taken > started) this.nextDelayMs = Math.min(MAX_BACKOFF_MS, Math.max(intervalMs, this.nextDelayMs * 2));
          else this.nextDelayMs = taken === this.batch ? DRAIN_PAUSE_MS : intervalMs;
          if (taken > started) this.logger.warn({ failed: taken - started, nextPassInMs: this.nextDelayMs }, 'reconciler: starts failing, backing off');
          return started;
        })
        .catch((err) => {
          this.nextDelayMs = Math.min(MAX_BACKOFF_MS, Math.max(intervalMs, this.nextDelayMs * 2));
          this.logger.warn({ err: (err as Error).message }, 'reconciler pass failed');
          return 0;
        });
      this.running.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.nextDelayMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
