import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../../entities/delivery.entity';
import type { Logger } from '../logger';
import type { IngestService } from './service';

/** How old an unstarted delivery must be before the reconciler takes it (the ingest request may still be starting it). */
export const RECONCILE_GRACE_MS = 5_000;

/**
 * Starts workflows for deliveries that were committed but never started (a crash or a Temporal outage
 * between the database commit and the start), so an accepted event is never lost (docs/DESIGN.md decision 2).
 */
export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ingest: IngestService,
    private readonly logger: Logger,
    private readonly graceMs = RECONCILE_GRACE_MS,
  ) {}

  /** One pass: starts up to `batch` stranded deliveries; returns how many were started. */
  async reconcileOnce(batch = 500): Promise<number> {
    const rows = await this.dataSource
      .getRepository(DeliveryEntity)
      .createQueryBuilder('d')
      .where('d.workflow_started = false')
      .andWhere(`d.created_at < now() - make_interval(secs => :secs)`, { secs: this.graceMs / 1000 })
      .orderBy('d.created_at', 'ASC')
      .limit(batch)
      .getMany();
    if (rows.length === 0) return 0;
    const started = await this.ingest.startWorkflows(rows);
    if (started) this.logger.info({ started }, 'reconciler started stranded deliveries');
    return started;
  }

  /** Runs a pass every `intervalMs` until stopped; passes never overlap. */
  start(intervalMs = 10_000): void {
    const tick = () => {
      this.running = this.reconcileOnce().catch((err) => {
        this.logger.warn({ err: (err as Error).message }, 'reconciler pass failed');
        return 0;
      });
      this.running.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
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
