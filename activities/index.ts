import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../entities/delivery.entity';
import { EmissionEntity } from '../entities/emission.entity';
import { SubscriptionEntity } from '../entities/subscription.entity';
import { ConnectionEntity } from '../entities/connection.entity';
import { EventCatalogue } from '../src/catalogue/store';
import { claimFollowUp, type FollowUpRole } from './follow-ups';
import { outcomeFromError } from '../providers/http/outcome';
import type { ProviderRegistry } from '../providers/registry';
import { ProviderSettings } from '../providers/settings';
import type { DeliveryOutcome, GuardedHttpClient } from '../providers/types';
import type { Logger } from '../src/logger';
import { safeErrorMessage, sanitise } from '../src/sanitise';
import type { SecretBox } from '../src/secrets/crypto';
import { decryptFields, secretValues } from '../src/secrets/fields';
import { decideAfterAttempt, scheduleFromPolicy } from '../workflows/retry';
import type { AttemptInput, AttemptRecord, AttemptReport, AttemptResult, DeliveryPlan, StoredAttempt } from '../workflows/types';

/** What the activities need, handed in by the worker (or a test). */
export interface ActivityDeps {
  dataSource: DataSource;
  logger: Logger;
  providers: ProviderRegistry;
  secrets: SecretBox;
  http: GuardedHttpClient;
}

/** Builds the delivery activities over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const { dataSource, logger, providers, secrets, http } = deps;
  const deliveries = dataSource.getRepository(DeliveryEntity);
  const catalogue = new EventCatalogue(dataSource);
  const settings = new ProviderSettings(dataSource, 0);

  /** Loads what the workflow loop needs; ids and numbers only, no secrets. */
  async function loadDeliveryPlan(deliveryId: string): Promise<DeliveryPlan> {
    const delivery = await deliveries.findOneBy({ id: deliveryId });
    if (!delivery) throw ApplicationFailure.nonRetryable(`delivery ${deliveryId} does not exist`, 'DeliveryNotFound');
    const subscription = await dataSource.getRepository(SubscriptionEntity).findOneBy({ id: delivery.subscriptionId });
    return {
      status: delivery.status,
      attemptsSoFar: delivery.attempts,
      scheduleMs: scheduleFromPolicy(subscription?.retryPolicy),
    };
  }

  /**
   * Makes one provider call. Provider verdicts come back as values (sanitised); only a failure to
   * load the delivery (nothing sent) throws, as an `Infrastructure` failure the workflow waits out.
   */
  async function attemptDelivery(input: { deliveryId: string; attempt: number; redelivery: boolean }): Promise<AttemptResult> {
    const run = await runAttempt(input);
    return run.result;
  }

  /**
   * Calls the provider once for `deliveryWorkflowV2` and writes the attempt to the log in the same
   * activity. The log write is retried for up to RECORD_WITHIN_MS; after that the record goes back to the
   * workflow, which writes it with unlimited retries (the attempt is never lost from the log).
   */
  async function deliverAttempt(input: AttemptInput): Promise<AttemptReport> {
    const run = await runAttempt(input, { refuseClosed: input.trigger !== 'manual' });
    if (run.closed) return { kind: 'closed', status: run.closed };
    const { result } = run;
    if (result.outcome === 'deferred') return { kind: 'deferred', result };
    const decided = decideAfterAttempt(result.outcome, input.attempt, input.budgetBase, run.scheduleMs, Math.random(), result.retryAfterMs);
    const record: AttemptRecord = {
      ...result,
      outcome: result.outcome,
      deliveryId: input.deliveryId,
      attempt: input.attempt,
      trigger: input.trigger,
      status: decided.status,
      ...(decided.status === 'retrying' ? { nextRetryAtMs: Date.now() + decided.delayMs } : {}),
    };
    const stored = await writeRecordWithin(record, RECORD_WITHIN_MS);
    return stored ? { kind: 'recorded', result, stored } : { kind: 'unrecorded', result, record };
  }

  /**
   * Logs an attempt that was lost with its activity (timeout, worker killed): the provider may have been
   * called. When the activity had already written its attempt, that record stands and is returned.
   */
  async function recordLostAttempt(input: AttemptInput): Promise<StoredAttempt> {
    const delivery = await deliveries.findOneBy({ id: input.deliveryId });
    const subscription = delivery ? await dataSource.getRepository(SubscriptionEntity).findOneBy({ id: delivery.subscriptionId }) : null;
    const decided = decideAfterAttempt('retryable', input.attempt, input.budgetBase, scheduleFromPolicy(subscription?.retryPolicy), Math.random());
    return writeRecord({
      outcome: 'retryable',
      startedAtMs: Date.now(),
      durationMs: 0,
      errorCode: 'attempt_lost',
      error: 'The attempt did not finish (timeout or worker restart); the receiver may have seen it',
      deliveryId: input.deliveryId,
      attempt: input.attempt,
      trigger: input.trigger,
      status: decided.status,
      ...(decided.status === 'retrying' ? { nextRetryAtMs: Date.now() + decided.delayMs } : {}),
    });
  }

  async function runAttempt(
    input: { deliveryId: string; attempt: number; redelivery: boolean },
    options: { refuseClosed?: boolean } = {},
  ): Promise<{ result: AttemptResult; scheduleMs: number[]; closed?: 'success' | 'failed' }> {
    let loaded: Awaited<ReturnType<typeof load>>;
    try {
      loaded = await load(input.deliveryId);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`could not load the delivery: ${safeErrorMessage(err)}`, 'Infrastructure');
    }
    const scheduleMs = scheduleFromPolicy(loaded.subscription?.retryPolicy);
    const status = loaded.delivery.status;
    if (options.refuseClosed && (status === 'success' || status === 'failed')) {
      // a second start of a finished delivery (e.g. after Temporal forgot the first run): send nothing
      return { result: { outcome: 'deferred', startedAtMs: Date.now(), durationMs: 0 }, scheduleMs, closed: status };
    }
    const attemptResult = await callProvider(input, loaded);
    return { result: attemptResult, scheduleMs };
  }

  async function callProvider(
    input: { deliveryId: string; attempt: number; redelivery: boolean },
    loaded: Awaited<ReturnType<typeof load>>,
  ): Promise<AttemptResult> {
    const startedAtMs = Date.now();
    const finish = (outcome: DeliveryOutcome, known: string[] = []): AttemptResult => toResult(outcome, startedAtMs, known);
    const { delivery, subscription, emission, eventType, connectionRow } = loaded;
    if (!subscription) return finish({ kind: 'permanent', error: 'The subscription was deleted', errorCode: 'subscription_deleted' });
    const provider = providers.get(delivery.provider);
    if (!provider) {
      return finish({
        kind: 'permanent',
        error: `Provider "${delivery.provider}" is not installed (or its plugin failed to load); redeliver once it is back`,
        errorCode: 'provider_missing',
      });
    }
    if (!(await settings.isEnabled(provider.definition.id))) {
      return finish({
        kind: 'permanent',
        error: `Provider "${delivery.provider}" is disabled by an admin; redeliver once it is enabled again`,
        errorCode: 'provider_disabled',
      });
    }
    if (subscription.connectionId && !connectionRow) {
      return finish({ kind: 'permanent', error: `Connection ${subscription.connectionId} was deleted`, errorCode: 'connection_missing' });
    }
    let config: Record<string, unknown>;
    let connection: Record<string, unknown> | undefined;
    try {
      config = decryptFields(subscription.config, provider.secretPaths, secrets);
      if (connectionRow) connection = decryptFields(connectionRow.config, provider.connectionSecretPaths, secrets);
    } catch (err) {
      return finish({ kind: 'permanent', error: safeErrorMessage(err), errorCode: 'decrypt_failed' });
    }
    const known = [...secretValues(config, provider.secretPaths), ...(connection ? secretValues(connection, provider.connectionSecretPaths) : [])];
    const subject = subjectOf(eventType?.subjectKey, delivery.payload);
    const def = provider.definition;

    // follow-ups: find or claim the external record of this subject at this target
    let role: FollowUpRole | undefined;
    // test sends stand alone: they neither create the record real events follow up on, nor update it
    const followsUp = def.followUps && subject !== undefined && !delivery.test;
    const targetKey = followsUp ? def.followUpTarget?.(config as never, connection as never) : undefined;
    if (targetKey) {
      const owner = delivery.event.split('.')[0];
      try {
        role = await claimFollowUp(dataSource, { provider: def.id, targetKey, subject: `${owner}:${subject}` }, delivery.id);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look up the external record: ${safeErrorMessage(err)}`, 'Infrastructure');
      }
      if (role.role === 'wait') {
        return { outcome: 'deferred', startedAtMs, durationMs: 0, error: `Waiting for delivery ${role.creatingDeliveryId} to create the external record` };
      }
    }

    let outcome: DeliveryOutcome;
    // tells Temporal this attempt is alive; if the worker dies, the workflow learns it within the heartbeat timeout
    const heartbeat = setInterval(() => Context.current().heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      outcome = await def.deliver({
        deliveryId: delivery.id,
        attempt: input.attempt,
        event: {
          id: delivery.emissionId,
          type: delivery.event,
          displayName: eventType?.displayName ?? delivery.event,
          occurredAt: (emission?.occurredAt ?? delivery.createdAt).toISOString(),
          systemIds: delivery.systemIds,
          payload: delivery.payload,
          subject,
          resolves: eventType?.resolves ?? false,
        },
        subscription: { id: subscription.id, name: subscription.name },
        config,
        connection,
        followUp: role?.role === 'follower' ? { externalId: role.externalId } : undefined,
        test: delivery.test,
        redelivery: input.redelivery,
        http,
      });
    } catch (err) {
      outcome = outcomeFromError(err, known);
    } finally {
      clearInterval(heartbeat);
    }
    const result = finish(outcome, known);
    if (role && role.role !== 'wait') result.followUp = { recordId: role.recordId, role: role.role };
    if (outcome.kind === 'success' && outcome.configUpdate) {
      const update = checkedConfigUpdate(outcome.configUpdate, config, provider);
      if (update) result.configUpdate = update;
      else logger.warn({ deliveryId: delivery.id, provider: def.id, fields: Object.keys(outcome.configUpdate) }, 'provider config update refused');
    }
    logger.info(
      { deliveryId: delivery.id, attempt: input.attempt, outcome: result.outcome, httpStatus: result.httpStatus, durationMs: result.durationMs },
      'delivery attempt',
    );
    return result;
  }

  async function load(deliveryId: string) {
    const delivery = await deliveries.findOneBy({ id: deliveryId });
    if (!delivery) throw new Error(`delivery ${deliveryId} does not exist`);
    const [subscription, emission, eventType] = await Promise.all([
      dataSource.getRepository(SubscriptionEntity).findOneBy({ id: delivery.subscriptionId }),
      dataSource.getRepository(EmissionEntity).findOneBy({ id: delivery.emissionId }),
      catalogue.get(delivery.event),
    ]);
    const connectionRow = subscription?.connectionId
      ? await dataSource.getRepository(ConnectionEntity).findOneBy({ id: subscription.connectionId })
      : null;
    return { delivery, subscription, emission, eventType, connectionRow };
  }

  /** Writes one attempt (see writeRecord); the workflows call it with Temporal's unlimited retries. */
  async function recordAttempt(r: AttemptRecord): Promise<StoredAttempt> {
    return writeRecord(r);
  }

  /** writeRecord, retried for up to `withinMs` while heartbeating; undefined when the database stayed unreachable. */
  async function writeRecordWithin(r: AttemptRecord, withinMs: number): Promise<StoredAttempt | undefined> {
    const deadline = Date.now() + withinMs;
    for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 2_000)) {
      try {
        return await writeRecord(r);
      } catch (err) {
        if (Date.now() + waitMs > deadline) {
          logger.warn({ deliveryId: r.deliveryId, attempt: r.attempt, err: safeErrorMessage(err) }, 'attempt not logged yet; the workflow will retry it');
          return undefined;
        }
        Context.current().heartbeat();
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /**
   * Writes one attempt and the delivery's new state in one transaction; safe to repeat. If that attempt
   * is already in the log (a repeat, or a lost activity that had written it), the stored record stands:
   * nothing changes and the delivery's current state is returned.
   */
  async function writeRecord(r: AttemptRecord): Promise<StoredAttempt> {
    return dataSource.transaction(async (tx) => {
      const inserted: unknown[] = await tx.query(
        `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, http_status, error_code, error, log, trigger)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (delivery_id, attempt) DO NOTHING RETURNING id`,
        [
          r.deliveryId,
          r.attempt,
          new Date(r.startedAtMs),
          Math.round(r.durationMs),
          r.outcome,
          r.httpStatus ?? null,
          r.errorCode ?? null,
          r.error ?? null,
          r.log ?? null,
          r.trigger,
        ],
      );
      if (inserted.length === 0) {
        const rows: { status: StoredAttempt['status'] | 'pending'; next_retry_at: Date | null }[] = await tx.query(
          'SELECT status, next_retry_at FROM deliveries WHERE id = $1',
          [r.deliveryId],
        );
        const row = rows[0];
        if (!row || row.status === 'pending') return { status: r.status, delayMs: Math.max(0, (r.nextRetryAtMs ?? 0) - Date.now()) };
        return { status: row.status, delayMs: row.next_retry_at ? Math.max(0, row.next_retry_at.getTime() - Date.now()) : 0 };
      }
      await tx.query(
        `UPDATE deliveries SET status = $2, attempts = GREATEST(attempts, $3), last_attempt_at = $4,
           next_retry_at = $5, external_id = COALESCE($6, external_id), error = $7, updated_at = now()
         WHERE id = $1`,
        [
          r.deliveryId,
          r.status,
          r.attempt,
          new Date(r.startedAtMs),
          r.nextRetryAtMs ? new Date(r.nextRetryAtMs) : null,
          r.externalId ?? null,
          r.status === 'success' ? null : (r.error ?? null),
        ],
      );
      if (r.followUp && r.outcome === 'success' && r.externalId) {
        // the creator fills its claim; a follower records a replacement record (e.g. a re-posted message)
        await tx.query(
          `UPDATE external_records SET external_id = $2, updated_at = now()
           WHERE id = $1 AND (creating_delivery_id = $3 OR external_id IS NOT NULL)`,
          [r.followUp.recordId, r.externalId, r.deliveryId],
        );
      }
      if (r.configUpdate && r.outcome === 'success') {
        await tx.query(
          `UPDATE subscriptions SET config = config || $2::jsonb, updated_at = now()
           WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1) AND config @> $3::jsonb`,
          [r.deliveryId, JSON.stringify(r.configUpdate.set), JSON.stringify(r.configUpdate.was)],
        );
      }
      if (r.pauseReason) {
        await tx.query(
          `UPDATE subscriptions SET paused_reason = $2, updated_at = now()
           WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1)`,
          [r.deliveryId, r.pauseReason],
        );
      }
      return { status: r.status, delayMs: Math.max(0, (r.nextRetryAtMs ?? 0) - Date.now()) };
    });
  }

  /** Ends a delivery as cancelled by an operator. */
  async function recordCancelled(input: { deliveryId: string; reason: string }): Promise<void> {
    await deliveries.update(
      { id: input.deliveryId },
      { status: 'failed', nextRetryAt: null, error: sanitise(input.reason), updatedAt: new Date() },
    );
  }

  return { loadDeliveryPlan, attemptDelivery, deliverAttempt, recordAttempt, recordLostAttempt, recordCancelled };
}

/**
 * A provider's config update, when it only sets top-level non-secret fields to plain values and the
 * changed config still passes the provider's schema; with the values it replaces. Otherwise undefined.
 */
function checkedConfigUpdate(
  set: Record<string, string | number | boolean>,
  config: Record<string, unknown>,
  provider: { definition: { configSchema: { safeParse(v: unknown): { success: boolean } } }; secretPaths: string[] },
): NonNullable<AttemptResult['configUpdate']> | undefined {
  const keys = Object.keys(set);
  if (keys.length === 0) return undefined;
  const secretRoots = new Set(provider.secretPaths.map((p) => p.split('.')[0]));
  for (const k of keys) {
    if (secretRoots.has(k) || !['string', 'number', 'boolean'].includes(typeof set[k])) return undefined;
  }
  if (!provider.definition.configSchema.safeParse({ ...config, ...set }).success) return undefined;
  const was = Object.fromEntries(keys.map((k) => [k, config[k]]));
  return { set, was };
}

function sanitiseLog(log: string, secrets: string[]): string {
  // line by line: the sanitiser collapses whitespace, and a log should keep its lines
  return log
    .split('\n')
    .map((line) => sanitise(line, secrets, 2000))
    .join('\n')
    .slice(0, MAX_ATTEMPT_LOG_CHARS);
}

/** The subject value of an event: payload[subjectKey] when it is a string or a number. */
function subjectOf(subjectKey: string | undefined, payload: Record<string, unknown>): string | undefined {
  if (!subjectKey) return undefined;
  const v = payload[subjectKey];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** The activity interface the workflow proxies. */
export type Activities = ReturnType<typeof createActivities>;

/** How long the attempt activity retries its log write before handing the record to the workflow (heartbeat timeout is 15 s). */
const RECORD_WITHIN_MS = 10_000;

/** How often an attempt in progress heartbeats (the workflow's heartbeat timeout is 15 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/** Attempt output (script console) kept per attempt, after sanitising. */
const MAX_ATTEMPT_LOG_CHARS = 8000;

function toResult(outcome: DeliveryOutcome, startedAtMs: number, secrets: string[]): AttemptResult {
  const base = {
    startedAtMs,
    durationMs: Date.now() - startedAtMs,
    httpStatus: outcome.httpStatus,
    ...(outcome.log ? { log: sanitiseLog(outcome.log, secrets) } : {}),
  };
  if (outcome.kind === 'success') return { ...base, outcome: 'success', externalId: outcome.externalId };
  const error = sanitise(outcome.error, secrets);
  if (outcome.kind === 'retryable') {
    return { ...base, outcome: 'retryable', error, errorCode: outcome.errorCode, retryAfterMs: outcome.retryAfterMs };
  }
  return {
    ...base,
    outcome: 'permanent',
    error,
    errorCode: outcome.errorCode,
    pauseReason: outcome.pauseReason ? sanitise(outcome.pauseReason, secrets) : undefined,
  };
}
