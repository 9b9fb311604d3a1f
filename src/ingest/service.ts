import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../../entities/delivery.entity';
import { SubscriptionEntity } from '../../entities/subscription.entity';
import type { AuthContext } from '../auth/tokens';
import type { EventCatalogue } from '../catalogue/store';
import { ownerOfEventId } from '../catalogue/types';
import { validatePayload } from '../catalogue/validate';
import { badRequest, conflict, HttpProblem, notFound } from '../http/problem';
import type { Logger } from '../logger';
import type { DeliveryRef, DeliveryWorkflows } from '../temporal/deliveries';
import { isActiveSql, matchesEmissionSql } from './matching';
import { StartPacer } from './start-pacer';
import { MAX_SUBJECT_CHARS, NO_LANE, subjectKeyOf, subjectLockId, subjectValueOf } from '../deliveries/lanes';
import { insertDeliveriesSql } from '../deliveries/new-rows';
import { DEFAULT_PAYLOAD_COPY } from '../deliveries/payload';
import { preparedQuery } from '../database/prepared';
import { LockedIngest } from './locked-ingest';

/** How long `workflow_started` marks of background starts are gathered before one UPDATE writes them (ms). */
const MARK_EVERY_MS = 100;

/** A validated `POST /ingest` body. */
interface IngestRequest {
  event: string;
  id?: string;
  occurredAt?: string;
  systemIds?: string[];
  payload: Record<string, unknown>;
}

/** The ingest answer; the same for a repeated emission id. Statuses are as accepted (`pending`). */
interface IngestResult {
  id: string;
  event: string;
  deliveries: { id: string; subscriptionId: string; status: 'pending' }[];
}

/**
 * Accepts events: validate, store the emission and its deliveries in one transaction (so a 2xx is
 * durable), then start one workflow per delivery. A crash after the commit is repaired by the reconciler.
 */
export class IngestService {
  private readonly inFlight = new Set<Promise<unknown>>();
  private pendingMarks: string[] = [];
  private markTimer?: NodeJS.Timeout;
  /** Every workflow start goes through it: bounded in flight, adaptive, left to the reconciler while Temporal refuses. */
  readonly pacer: StartPacer;
  /** The ingest statement of an event with a subject and its subject lock, in one round trip. */
  readonly locked: LockedIngest;

  constructor(
    private readonly dataSource: DataSource,
    private readonly catalogue: EventCatalogue,
    private readonly workflows: DeliveryWorkflows,
    private readonly logger: Logger,
    /** Providers whose deliveries may be laned (they keep follow-up records); others are never queued at ingest. */
    private readonly lanedProviders: () => string[] = () => [],
    /** WORKFLOW_START_CONCURRENCY and WORKFLOW_START_QUEUE (defaults in start-pacer.ts). */
    pacing: { concurrency?: number; queue?: number } = {},
    /** DELIVERY_PAYLOAD_COPY: new delivery rows also carry the payload (src/deliveries/payload.ts). */
    private readonly payloadCopy: boolean = DEFAULT_PAYLOAD_COPY,
  ) {
    this.pacer = new StartPacer((d) => this.workflows.start(d), logger, pacing.concurrency, pacing.queue);
    this.locked = new LockedIngest(dataSource, INGEST_STATEMENTS[payloadCopy ? 'copy' : 'once'], logger);
  }

  async ingest(req: IngestRequest, auth: AuthContext): Promise<{ created: boolean; result: IngestResult }> {
    const eventType = await this.catalogue.get(req.event);
    if (!eventType) throw notFound(`Event type ${req.event} is not in the catalogue`);
    const owner = ownerOfEventId(req.event);
    if (auth.role === 'ingest' && owner === 'hub') {
      throw new HttpProblem(403, 'Forbidden', 'The hub\'s own events (hub.*) are emitted by the hub only');
    }
    if (auth.role === 'ingest' && auth.owners.length > 0 && !auth.owners.includes(owner)) {
      throw new HttpProblem(403, 'Forbidden', `This token may not post events of owner ${owner}`);
    }
    const problems = validatePayload(eventType, req.payload);
    if (problems.length) throw badRequest(`The payload does not match the schema of ${req.event}`, problems);
    const emissionId = req.id ?? `evt_${crypto.randomUUID().replace(/-/g, '')}`;
    const systemIds = req.systemIds ?? systemIdsOf(req.payload);

    // ordered follow-ups: an event with a subject gives its deliveries the subject's key and a lane sequence,
    // read under a lock on the subject so that the sequence follows the order ingest commits them
    const subject = subjectValueOf(eventType.subjectKey, req.payload);
    if (subject !== undefined && subject.length > MAX_SUBJECT_CHARS) {
      throw badRequest(`The subject of ${req.event} is too long`, [
        { path: `payload.${eventType.subjectKey}`, message: `must be at most ${MAX_SUBJECT_CHARS} characters (the subject id)` },
      ]);
    }
    const subjectKey = subject === undefined ? null : subjectKeyOf(req.event, subject);

    // one statement (atomic, one round trip): store the emission unless its id is known, match the
    // subscriptions, insert one delivery per match (src/deliveries/new-rows.ts). A 2xx after it means the
    // deliveries are durable.
    const params = [emissionId, req.event, req.occurredAt ?? new Date().toISOString(), systemIds, req.payload, subjectKey, subjectKey === null ? [] : this.lanedProviders()];
    const statement = INGEST_STATEMENTS[this.payloadCopy ? 'copy' : 'once'];
    // with a subject, under the subject's lock: one statement (src/ingest/locked-ingest.ts), or a transaction where
    // that function cannot be created
    const inserted: IngestedRow[] = subjectKey === null
      ? await preparedQuery(this.dataSource, statement, params)
      : ((await this.locked.run<IngestedRow>(params, subjectLockId(subjectKey))) ??
        (await this.dataSource.transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [subjectLockId(subjectKey)]);
          return preparedQuery<IngestedRow>(tx, statement, params);
        })));
    const outcome = inserted[0].created
      ? {
          created: true as const,
          rows: inserted
            .filter((r) => r.id !== null)
            .map((r) => ({ id: r.id!, subscriptionId: r.subscription_id!, provider: r.provider!, workflowId: r.workflow_id!, event: req.event, status: 'pending' })),
        }
      : { created: false as const };

    if (!outcome.created) return { created: false, result: await this.replay(emissionId, req.event) };
    // the commit made the deliveries durable: answer now and start the workflows behind the reply
    // (a start lost with this process is made by the reconciler)
    this.startInBackground(outcome.rows);
    return { created: true, result: resultOf(emissionId, req.event, outcome.rows) };
  }

  /** Sends the event type's example to one subscription through the real pipeline, marked `test`. */
  async testSend(sub: SubscriptionEntity): Promise<string> {
    const eventType = await this.catalogue.get(sub.event);
    const payload = eventType?.example ?? {};
    const emissionId = `test_${crypto.randomUUID().replace(/-/g, '')}`;
    const systemIds = systemIdsOf(payload);
    const rows = await this.dataSource.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO emissions (id, event, occurred_at, system_ids, payload, test) VALUES ($1, $2, now(), $3, $4, true)`,
        [emissionId, sub.event, systemIds, payload],
      );
      const inserted: { id: string; subscription_id: string; provider: string; workflow_id: string; event: string }[] = await tx.query(
        insertDeliveriesSql({
          // the emission just stored, as replays read theirs (its payload copied only with DELIVERY_PAYLOAD_COPY)
          emission: { id: 'e.id', event: 'e.event', systemIds: 'e.system_ids', payload: 'e.payload' },
          payloadCopy: this.payloadCopy,
          from: 'FROM subscriptions s JOIN emissions e ON e.id = $1 WHERE s.id = $2',
          test: true,
          returning: 'id, subscription_id, provider, workflow_id, event',
        }),
        [emissionId, sub.id],
      );
      if (inserted.length !== 1) throw notFound(`Subscription ${sub.id} was deleted`); // rolls the emission back too
      return inserted.map((r) => ({ id: r.id, subscriptionId: r.subscription_id, provider: r.provider, workflowId: r.workflow_id, event: r.event, status: 'pending' as const }));
    });
    await this.startWorkflows(rows);
    return rows[0].id;
  }

  /**
   * Starts workflows without holding up the caller; failures are left to the reconciler. Their
   * `workflow_started` marks are written in batches (one UPDATE per MARK_EVERY_MS): a mark lost with
   * the process only means the reconciler starts them again, which Temporal refuses as a duplicate.
   */
  startInBackground(rows: DeliveryRef[]): void {
    if (rows.length === 0) return;
    const started = this.startWorkflows(rows, { batchMarks: true })
      .catch((err) => this.logger.warn({ err: (err as Error).message }, 'marking workflows started failed; the reconciler will repeat it'))
      .finally(() => this.inFlight.delete(started));
    this.inFlight.add(started);
  }

  /** Waits for the background starts, then writes the marks still queued (at shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.flushMarks();
  }

  /**
   * Starts the workflows of deliveries (paced: see StartPacer) and marks them started; returns how many started.
   * A failure (Temporal unreachable or saturated) is logged, not thrown: the deliveries are stored, and the
   * reconciler starts them later.
   */
  async startWorkflows(rows: DeliveryRef[], options: { batchMarks?: boolean } = {}): Promise<number> {
    const started: string[] = [];
    await Promise.all(
      rows.map(async (d) => {
        // a failure is logged by the pacer; the row stays unstarted for the reconciler
        if ((await this.pacer.submit(d)) === 'started') started.push(d.id);
      }),
    );
    if (started.length === 0) return 0;
    if (options.batchMarks) {
      this.pendingMarks.push(...started);
      this.markTimer ??= setTimeout(() => void this.flushMarks(), MARK_EVERY_MS);
    } else {
      // the rows are committed and their workflows started: a mark that fails (the database going away right
      // now) is repeated by the reconciler, and must not turn an accepted event into an error answer
      await this.markStarted(started).catch((err) => this.logger.warn({ count: started.length, err: (err as Error).message }, 'marking workflows started failed; the reconciler will repeat it'));
    }
    return started.length;
  }

  private markStarted(ids: string[]): Promise<unknown> {
    return preparedQuery(this.dataSource, `UPDATE deliveries SET workflow_started = true WHERE id = ANY($1)`, [ids]);
  }

  private async flushMarks(): Promise<void> {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const ids = this.pendingMarks.splice(0);
    if (ids.length === 0) return;
    try {
      await this.markStarted(ids);
    } catch (err) {
      this.logger.warn({ count: ids.length, err: (err as Error).message }, 'marking workflows started failed; the reconciler will repeat it');
    }
  }

  private async replay(emissionId: string, event: string): Promise<IngestResult> {
    const existing: { event: string }[] = await this.dataSource.query('SELECT event FROM emissions WHERE id = $1', [emissionId]);
    if (existing[0] && existing[0].event !== event) {
      throw conflict(`Emission id ${emissionId} was already used for event ${existing[0].event}`);
    }
    const rows = await this.dataSource.getRepository(DeliveryEntity).find({ where: { emissionId }, order: { createdAt: 'ASC', id: 'ASC' } });
    // a crash may have left them unstarted; starting is idempotent
    const unstarted = rows.filter((r) => !r.workflowStarted);
    if (unstarted.length) await this.startWorkflows(unstarted);
    return resultOf(emissionId, event, rows);
  }
}

/**
 * The ingest statement: $1 emission id, $2 event type, $3 occurred at, $4 system ids, $5 payload, $6 subject
 * key (or null), $7 the providers with lanes.
 */
const ingestStatement = (payloadCopy: boolean) => `WITH em AS (
         INSERT INTO emissions (id, event, occurred_at, system_ids, payload) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING RETURNING id
       ), ins AS (
         ${insertDeliveriesSql({
           emission: { id: '$1', event: '$2', systemIds: '$4', payload: '$5' },
           payloadCopy,
           extra: {
             subject_key: '$6::varchar',
             lane_seq: `CASE WHEN $6::varchar IS NULL THEN NULL ELSE nextval('delivery_lane_seq') END`,
             // waiting_for, shown from the start: the latest earlier delivery of the subject to the same provider
             // (and target, where known) that is still open; the statement's snapshot holds only earlier ones
             // (the subject lock orders them). The first attempt looks at the lane itself and corrects it.
             waiting_for: `CASE WHEN $6::varchar IS NULL OR NOT (s.provider = ANY($7::text[])) THEN NULL ELSE (
                  SELECT p.id FROM deliveries p JOIN subscriptions ps ON ps.id = p.subscription_id
                   WHERE p.subject_key = $6::varchar AND p.provider = s.provider AND p.status IN ('pending', 'retrying')
                     AND p.lane_key IS DISTINCT FROM '${NO_LANE}'
                     AND (ps.target_key IS NULL OR s.target_key IS NULL OR ps.target_key = s.target_key)
                   ORDER BY p.lane_seq DESC LIMIT 1) END`,
           },
           from: `FROM subscriptions s
          WHERE EXISTS (SELECT 1 FROM em) AND ${isActiveSql('s')} AND ${matchesEmissionSql('s', '$2', '$4')}`,
           tail: 'ORDER BY s.id',
           returning: 'id, subscription_id, provider, workflow_id',
         })}
       )
       SELECT EXISTS (SELECT 1 FROM em) AS created, ins.id::text, ins.subscription_id::text, ins.provider::text, ins.workflow_id::text
         FROM (SELECT 1) one LEFT JOIN ins ON true`;
/** The ingest statement with and without the payload's copy on the delivery rows (DELIVERY_PAYLOAD_COPY). */
const INGEST_STATEMENTS = { copy: ingestStatement(true), once: ingestStatement(false) };

/** A row of the ingest statement: `created` false when the emission id was known; delivery columns null when nothing matched. */
interface IngestedRow {
  created: boolean;
  id: string | null;
  subscription_id: string | null;
  provider: string | null;
  workflow_id: string | null;
}

function resultOf(id: string, event: string, rows: Pick<DeliveryRef, 'id' | 'subscriptionId'>[]): IngestResult {
  return { id, event, deliveries: rows.map((r) => ({ id: r.id, subscriptionId: r.subscriptionId, status: 'pending' })) };
}

/** The systems an event names: `payload.systemIds`, or `payload.systemId`. */
function systemIdsOf(payload: Record<string, unknown>): string[] {
  const many = payload.systemIds;
  if (Array.isArray(many)) return [...new Set(many.filter((x): x is string => typeof x === 'string'))];
  return typeof payload.systemId === 'string' ? [payload.systemId] : [];
}
