import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { EmissionEntity } from '../../entities/emission.entity';
import { deliveryPayloadPurgedAtSql, deliveryPayloadSql } from './payload';
import { DeliveryAttemptEntity } from '../../entities/delivery-attempt.entity';
import { DELIVERY_STATUSES, DeliveryEntity, OPEN_DELIVERY_STATUSES } from '../../entities/delivery.entity';
import { conflict, notFound } from '../http/problem';
import type { Position } from '../api/cursor';
import type { IngestService } from '../ingest/service';
import type { DeliveryWorkflows } from '../temporal/deliveries';
import { applyRecoverable, type RecoveryFilter, type RecoveryStore, type RecoveryView } from './recoveries';
import { applyFilter, type DeliveryFilter } from './filter';
import { Lanes } from './lanes';
import type { BackgroundJobs } from './background-jobs';
import type { StoredExchange } from '../../workflows/types';

/** How many `cancel` updates the end of a deleted subscription's deliveries sends at once. */
const CANCEL_CONCURRENCY = 8;

/** Reads the delivery log and steers deliveries (retry, cancel, recover). */
export class DeliveryService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly workflows: DeliveryWorkflows,
    private readonly ingest: IngestService,
    private readonly recoveries: RecoveryStore,
    /** The cap on recoveries and replays running at once. */
    private readonly jobs: BackgroundJobs,
  ) {
    this.lanes = new Lanes(dataSource);
  }

  /** Ordered lanes: who waits behind a delivery ended here rather than by its workflow. */
  private readonly lanes: Lanes;

  private get repo() {
    return this.dataSource.getRepository(DeliveryEntity);
  }

  /** Newest first, keyset-paginated on (createdAt, id); each filter has an index that leads with it. */
  async list(filter: DeliveryFilter, limit: number, after?: Position) {
    const qb = this.repo.createQueryBuilder('d').orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'DESC').limit(limit + 1);
    applyFilter(qb, filter);
    if (after) qb.andWhere('(d.created_at, d.id) < (:at, :id)', { at: after.createdAt, id: after.id });
    const rows = await withPayloads(qb);
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => this.view(r));
    const last = items[items.length - 1];
    return { items, next: more && last ? { createdAt: last.createdAt, id: last.id } : undefined };
  }

  /** One delivery with its attempt log. */
  async get(id: string) {
    const row = await this.row(id);
    const { entities: attempts, raw } = await this.dataSource
      .getRepository(DeliveryAttemptEntity)
      .createQueryBuilder('a')
      .addSelect('COALESCE(jsonb_array_length(a.exchanges), 0)', 'exchange_count')
      .where('a.delivery_id = :id', { id })
      .orderBy('a.attempt', 'ASC')
      .addOrderBy('a.id', 'ASC')
      .getRawAndEntities<{ exchange_count: number }>();
    return {
      ...this.view(row),
      attemptLog: attempts.map((a, i) => ({
        attempt: a.attempt,
        startedAt: a.startedAt.toISOString(),
        durationMs: a.durationMs,
        outcome: a.outcome,
        ...(a.httpStatus !== null ? { httpStatus: a.httpStatus } : {}),
        ...(a.errorCode !== null ? { errorCode: a.errorCode } : {}),
        ...(a.error !== null ? { error: a.error } : {}),
        ...(a.log !== null ? { log: a.log } : {}),
        trigger: a.trigger,
        exchanges: Number(raw[i]?.exchange_count ?? 0),
      })),
    };
  }

  /**
   * The requests one attempt sent and the responses it got (secrets masked, bodies cut to size); `purgedAt`
   * says when retention dropped them with the payload.
   */
  async attempt(id: string, attempt: number) {
    const row = await this.entity(id);
    const rows: { attempt: number; started_at: Date; outcome: string; exchanges: unknown[] | null }[] = await this.dataSource.query(
      `SELECT attempt, started_at, outcome, exchanges FROM delivery_attempts WHERE delivery_id = $1 AND attempt = $2 ORDER BY id LIMIT 1`,
      [id, attempt],
    );
    const a = rows[0];
    if (!a) throw notFound(`Delivery ${id} has no attempt ${attempt}`);
    return {
      deliveryId: id,
      attempt: a.attempt,
      startedAt: a.started_at.toISOString(),
      exchanges: (a.exchanges ?? []) as StoredExchange[],
      purgedAt: row.payloadPurgedAt?.toISOString() ?? null,
    };
  }

  /**
   * A new attempt now: a retrying delivery is woken, a finished one gets a new run (a successful one is
   * sent again, marked as a redelivery), a pending one whose workflow never started is started.
   */
  async retry(id: string): Promise<{ id: string; action: 'woken' | 'restarted' | 'started' }> {
    const { delivery: row, payloadPurgedAt } = await this.row(id);
    if (payloadPurgedAt) {
      throw conflict(`Delivery ${id} cannot be sent again: its payload was dropped by retention at ${payloadPurgedAt.toISOString()}`);
    }
    if (!row.workflowStarted && row.status === 'pending') {
      await this.ingest.startWorkflows([row]);
      return { id, action: 'started' };
    }
    return { id, action: await this.workflows.redeliver(row) };
  }

  /** Stops further retries: the delivery ends `failed` with the reason. */
  async cancel(id: string, reason = 'Cancelled by an operator; no further retries'): Promise<void> {
    const row = await this.entity(id);
    if (row.status === 'success' || row.status === 'failed' || row.status === 'superseded') {
      throw conflict(`Delivery ${id} already ended with status ${row.status}`);
    }
    const accepted = await this.workflows.cancel(row, reason);
    if (!accepted) {
      // no workflow is running (never started, or it just ended): settle it in the log directly
      await this.repo
        .createQueryBuilder()
        .update()
        .set({ status: 'failed', error: reason, nextRetryAt: null, waitingFor: null, updatedAt: new Date() })
        .where('id = :id AND status IN (:...open)', { id, open: OPEN_DELIVERY_STATUSES })
        .execute();
      // no workflow hands its lane on: the deliveries waiting behind it go now (best effort: they also look again)
      await this.workflows.signalLaneTurn(await this.lanes.toWake(id)).catch(() => undefined);
    }
  }

  /**
   * After a subscription was deleted with its open deliveries (`ended`, already `failed` in the log): their
   * workflows get the cancel update in the background, a few at a time (a workflow that misses it ends at its
   * next wake-up, finding its delivery closed), and the deliveries waiting behind them in their lanes are woken.
   */
  async afterSubscriptionDeleted(subscriptionId: string, ended: string[], onError: (err: unknown) => void): Promise<void> {
    if (ended.length === 0) return;
    const reason = `The subscription ${subscriptionId} was deleted; no further retries`;
    const rows = await this.repo.createQueryBuilder('d').where('d.id IN (:...ids)', { ids: ended }).getMany();
    const queue = [...rows];
    const cancelNext = async (): Promise<void> => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        await this.workflows.cancel(row, reason).catch(onError);
      }
    };
    void Promise.all(Array.from({ length: Math.min(CANCEL_CONCURRENCY, queue.length) }, cancelNext));
    const waiting = new Set((await Promise.all(ended.map((id) => this.lanes.toWake(id)))).flat());
    await this.workflows.signalLaneTurn([...waiting]).catch(onError);
  }

  /** How many deliveries a recovery with this filter would redeliver (at most `max`). */
  async countRecoverable(filter: RecoveryFilter, max = 10_000): Promise<number> {
    const qb = this.repo.createQueryBuilder('d').select('d.id').limit(max);
    applyRecoverable(qb, filter);
    const [sql, params] = qb.getQueryAndParameters();
    const rows: { n: string }[] = await this.dataSource.query(`SELECT count(*) AS n FROM (${sql}) x`, params);
    return Number(rows[0].n);
  }

  /** Delivery views by id (for live updates), in no particular order. */
  async views(ids: string[]) {
    if (!ids.length) return [];
    return (await withPayloads(this.repo.createQueryBuilder('d').where('d.id IN (:...ids)', { ids }))).map((r) => this.view(r));
  }

  /**
   * Starts a bulk recovery: redelivers up to `max` failed deliveries of a range in the background (a
   * workflow); returns the recovery, whose progress `recovery(id)` reads.
   */
  async recover(filter: RecoveryFilter, max = 10_000): Promise<RecoveryView> {
    const recovery = await this.jobs.admit('recovery', (db) => this.recoveries.create(filter, max, db));
    try {
      await this.workflows.startRecovery(recovery.id);
    } catch (err) {
      await this.recoveries.finish(recovery.id, 'failed', 'The recovery could not be started; ask again');
      throw err;
    }
    return recovery;
  }

  /** A bulk recovery and its progress. */
  async recovery(id: string): Promise<RecoveryView> {
    const r = await this.recoveries.get(id);
    if (!r) throw notFound(`Recovery ${id} does not exist`);
    return r;
  }

  /** Totals by status, event and provider over the last `hours`. */
  async stats(hours: number) {
    const since = new Date(Date.now() - hours * 3_600_000);
    const rows: { status: string; event: string; provider: string; n: string }[] = await this.dataSource.query(
      `SELECT status, event, provider, count(*) AS n FROM deliveries WHERE created_at >= $1 GROUP BY status, event, provider`,
      [since],
    );
    const byStatus: Record<string, number> = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0]));
    const byEvent: Record<string, Record<string, number>> = {};
    const byProvider: Record<string, Record<string, number>> = {};
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      total += n;
      byStatus[r.status] = (byStatus[r.status] ?? 0) + n;
      byEvent[r.event] ??= { total: 0 };
      byEvent[r.event][r.status] = (byEvent[r.event][r.status] ?? 0) + n;
      byEvent[r.event].total += n;
      byProvider[r.provider] ??= { total: 0 };
      byProvider[r.provider][r.status] = (byProvider[r.provider][r.status] ?? 0) + n;
      byProvider[r.provider].total += n;
    }
    return { since: since.toISOString(), hours, total, byStatus, byEvent, byProvider };
  }

  /** One delivery row, without its payload. */
  private async entity(id: string): Promise<DeliveryEntity> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`Delivery ${id} does not exist`);
    return row;
  }

  /** One delivery with the payload it shows (from its emission: src/deliveries/payload.ts). */
  private async row(id: string): Promise<WithPayload> {
    const [row] = await withPayloads(this.repo.createQueryBuilder('d').where('d.id = :id', { id }));
    if (!row) throw notFound(`Delivery ${id} does not exist`);
    return row;
  }

  /** The API view of a delivery (docs/API.md "Delivery"). */
  view({ delivery: r, payload, payloadPurgedAt }: WithPayload) {
    return {
      id: r.id,
      subscriptionId: r.subscriptionId,
      provider: r.provider,
      event: r.event,
      emissionId: r.emissionId,
      systemIds: r.systemIds,
      payload,
      payloadPurgedAt: payloadPurgedAt?.toISOString() ?? null,
      status: r.status,
      attempts: r.attempts,
      lastAttemptAt: r.lastAttemptAt?.toISOString() ?? null,
      nextRetryAt: r.nextRetryAt?.toISOString() ?? null,
      waitingFor: r.status === 'pending' || r.status === 'retrying' ? r.waitingFor : null,
      supersededBy: r.status === 'superseded' ? r.supersededBy : null,
      externalId: r.externalId,
      error: r.error,
      workflowId: r.workflowId,
      temporalUrl: this.workflows.url(r.workflowId),
      test: r.test,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  }
}

/** A delivery row and the payload it shows, read from its emission (src/deliveries/payload.ts). */
interface WithPayload {
  delivery: DeliveryEntity;
  payload: Record<string, unknown>;
  payloadPurgedAt: Date | null;
}

/** Runs a query over deliveries `d`, joined to their emissions for the payload each shows, in the query's order. */
async function withPayloads(qb: SelectQueryBuilder<DeliveryEntity>): Promise<WithPayload[]> {
  qb.leftJoin(EmissionEntity, 'e', 'e.id = d.emission_id')
    .addSelect(deliveryPayloadSql('d', 'e'), 'shown_payload')
    .addSelect(deliveryPayloadPurgedAtSql('d', 'e'), 'shown_payload_purged_at');
  const { entities, raw } = await qb.getRawAndEntities<{ d_id: string; shown_payload: Record<string, unknown>; shown_payload_purged_at: Date | null }>();
  const byId = new Map(raw.map((r) => [r.d_id, r]));
  return entities.map((delivery) => {
    const r = byId.get(delivery.id)!;
    return { delivery, payload: r.shown_payload, payloadPurgedAt: r.shown_payload_purged_at };
  });
}
