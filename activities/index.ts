import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../entities/delivery.entity';
import { EventCatalogue } from '../src/catalogue/store';
import { claimFollowUp, type FollowUpRole } from './follow-ups';
import { outcomeFromError } from '../providers/http/outcome';
import type { ProviderRegistry } from '../providers/registry';
import type { DeliveryOutcome, GuardedHttpClient } from '../providers/types';
import type { Logger } from '../src/logger';
import { safeErrorMessage, sanitise } from '../src/sanitise';
import type { SecretBox } from '../src/secrets/crypto';
import { decryptFields, secretValues } from '../src/secrets/fields';
import { decideAfterAttempt, scheduleFromPolicy, type RetryPolicyInput } from '../workflows/retry';
import { NOT_FOUND_FAILURE, type AttemptInput, type AttemptRecord, type AttemptReport, type AttemptResult, type DeliveryPlan, type StoredAttempt } from '../workflows/types';

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

  /** Loads what the workflow loop needs; ids and numbers only, no secrets. */
  async function loadDeliveryPlan(deliveryId: string): Promise<DeliveryPlan> {
    const loaded = await load(deliveryId);
    if (!loaded) throw notFound(deliveryId);
    return {
      status: loaded.delivery.status,
      attemptsSoFar: loaded.delivery.attempts,
      scheduleMs: scheduleFromPolicy(loaded.subscription?.retryPolicy),
    };
  }

  /**
   * Makes one provider call. Provider verdicts come back as values (sanitised); only a failure to
   * load the delivery (nothing sent) throws, as an `Infrastructure` failure the workflow waits out.
   */
  async function attemptDelivery(input: { deliveryId: string; attempt: number; redelivery: boolean }): Promise<AttemptResult> {
    return callProvider(input, await loadForAttempt(input.deliveryId));
  }

  /**
   * Calls the provider once for `deliveryWorkflowV2` and writes the attempt to the log in the same
   * activity. The log write is retried for up to RECORD_WITHIN_MS; after that the record goes back to the
   * workflow, which writes it with unlimited retries (the attempt is never lost from the log).
   */
  async function deliverAttempt(input: AttemptInput): Promise<AttemptReport> {
    const loaded = await loadForAttempt(input.deliveryId);
    const status = loaded.delivery.status;
    // a second start of a finished delivery (e.g. after Temporal forgot the first run): send nothing
    if (input.trigger !== 'manual' && (status === 'success' || status === 'failed')) return { kind: 'closed', status };
    const result = await callProvider(input, loaded);
    if (result.outcome === 'deferred') return { kind: 'deferred', result };
    const scheduleMs = scheduleFromPolicy(loaded.subscription?.retryPolicy);
    const decided = decideAfterAttempt(result.outcome, input.attempt, input.budgetBase, scheduleMs, Math.random(), result.retryAfterMs);
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
    const loaded = await load(input.deliveryId);
    const decided = decideAfterAttempt('retryable', input.attempt, input.budgetBase, scheduleFromPolicy(loaded?.subscription?.retryPolicy), Math.random());
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

  /**
   * load() for an attempt: a delivery that cannot be loaded is an `Infrastructure` failure (nothing was
   * sent; the workflow waits it out), one that does not exist a `DeliveryNotFound` failure (the workflow ends).
   */
  async function loadForAttempt(deliveryId: string): Promise<Loaded> {
    let loaded: Loaded | undefined;
    try {
      loaded = await load(deliveryId);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`could not load the delivery: ${safeErrorMessage(err)}`, 'Infrastructure');
    }
    if (!loaded) throw notFound(deliveryId);
    return loaded;
  }

  async function callProvider(input: { deliveryId: string; attempt: number; redelivery: boolean }, loaded: Loaded): Promise<AttemptResult> {
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
    if (!loaded.providerEnabled) {
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

  /**
   * Everything one attempt needs, in one query (a round trip to PostgreSQL costs more than the join):
   * the delivery, its emission, subscription, connection and the provider's admin switch; undefined
   * when the delivery does not exist.
   */
  async function load(deliveryId: string): Promise<Loaded | undefined> {
    const rows: LoadedRow[] = await dataSource.query(
      `SELECT d.id, d.subscription_id, d.provider, d.event, d.emission_id, d.system_ids, d.payload, d.status, d.attempts,
              d.test, d.created_at, e.occurred_at,
              s.id AS s_id, s.name AS s_name, s.config AS s_config, s.connection_id AS s_connection_id, s.retry_policy AS s_retry_policy,
              c.config AS c_config, ps.enabled AS provider_enabled
         FROM deliveries d
         LEFT JOIN emissions e ON e.id = d.emission_id
         LEFT JOIN subscriptions s ON s.id = d.subscription_id
         LEFT JOIN connections c ON c.id = s.connection_id
         LEFT JOIN provider_settings ps ON ps.id = d.provider
        WHERE d.id = $1`,
      [deliveryId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const eventType = await catalogue.get(row.event);
    return {
      delivery: {
        id: row.id,
        subscriptionId: row.subscription_id,
        provider: row.provider,
        event: row.event,
        emissionId: row.emission_id,
        systemIds: row.system_ids,
        payload: row.payload,
        status: row.status,
        attempts: row.attempts,
        test: row.test,
        createdAt: row.created_at,
      },
      emission: row.occurred_at ? { occurredAt: row.occurred_at } : null,
      subscription: row.s_id
        ? { id: row.s_id, name: row.s_name!, config: row.s_config!, connectionId: row.s_connection_id, retryPolicy: row.s_retry_policy }
        : null,
      connectionRow: row.c_config ? { config: row.c_config } : null,
      providerEnabled: row.provider_enabled ?? true,
      eventType,
    };
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
        if (err instanceof ApplicationFailure) throw err;
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
   * Writes one attempt and the delivery's new state in one statement (atomic; one round trip); safe to
   * repeat. If that attempt is already in the log (a repeat, or a lost activity that had written it), the
   * stored record stands: nothing changes and the delivery's current state is returned.
   */
  async function writeRecord(r: AttemptRecord): Promise<StoredAttempt> {
    const params: unknown[] = [
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
      r.status,
      r.nextRetryAtMs ? new Date(r.nextRetryAtMs) : null,
      r.externalId ?? null,
      r.status === 'success' ? null : (r.error ?? null),
    ];
    const p = (v: unknown) => `$${params.push(v)}`;
    // every side effect below happens only when this call inserted the attempt
    const extra: string[] = [];
    if (r.followUp && r.outcome === 'success' && r.externalId) {
      // the creator fills its claim; a follower records a replacement record (e.g. a re-posted message)
      extra.push(`follow AS (
        UPDATE external_records SET external_id = $13, updated_at = now()
         WHERE id = ${p(r.followUp.recordId)} AND (creating_delivery_id = $1 OR external_id IS NOT NULL) AND EXISTS (SELECT 1 FROM ins))`);
    }
    if (r.configUpdate && r.outcome === 'success') {
      extra.push(`cfg AS (
        UPDATE subscriptions SET config = config || ${p(JSON.stringify(r.configUpdate.set))}::jsonb, updated_at = now()
         WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1)
           AND config @> ${p(JSON.stringify(r.configUpdate.was))}::jsonb AND EXISTS (SELECT 1 FROM ins))`);
    } else if (r.pauseReason) {
      extra.push(`pause AS (
        UPDATE subscriptions SET paused_reason = ${p(r.pauseReason)}, updated_at = now()
         WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1) AND EXISTS (SELECT 1 FROM ins))`);
    }
    const rows: { inserted: boolean; status: StoredAttempt['status'] | 'pending' | null; next_retry_at: Date | null }[] = await dataSource.query(
      `WITH ins AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, http_status, error_code, error, log, trigger)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (delivery_id, attempt) DO NOTHING RETURNING id
       ), upd AS (
         UPDATE deliveries SET status = $11, attempts = GREATEST(attempts, $2), last_attempt_at = $3,
                next_retry_at = $12, external_id = COALESCE($13, external_id), error = $14, updated_at = now()
          WHERE id = $1 AND EXISTS (SELECT 1 FROM ins)
       )${extra.map((x) => `, ${x}`).join('')}
       SELECT EXISTS (SELECT 1 FROM ins) AS inserted, d.status, d.next_retry_at
         FROM (SELECT 1) one LEFT JOIN deliveries d ON d.id = $1`,
      params,
    ).catch((err: { code?: string }) => {
      // the attempt's foreign key: the delivery row is gone, no retry writes it
      if (err?.code === FOREIGN_KEY_VIOLATION) throw notFound(r.deliveryId);
      throw err;
    });
    const row = rows[0];
    // the SELECT sees the rows as they were before this statement: the delivery's state when it inserted nothing
    if (row.inserted || !row.status || row.status === 'pending') {
      return { status: r.status, delayMs: Math.max(0, (r.nextRetryAtMs ?? 0) - Date.now()) };
    }
    return { status: row.status, delayMs: row.next_retry_at ? Math.max(0, row.next_retry_at.getTime() - Date.now()) : 0 };
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

/** A delivery_attempts-free view of one delivery and what it points at (see load). */
interface LoadedRow {
  id: string;
  subscription_id: string;
  provider: string;
  event: string;
  emission_id: string;
  system_ids: string[];
  payload: Record<string, unknown>;
  status: 'pending' | 'retrying' | 'success' | 'failed';
  attempts: number;
  test: boolean;
  created_at: Date;
  occurred_at: Date | null;
  s_id: string | null;
  s_name: string | null;
  s_config: Record<string, unknown> | null;
  s_connection_id: string | null;
  s_retry_policy: RetryPolicyInput | null;
  c_config: Record<string, unknown> | null;
  provider_enabled: boolean | null;
}

interface Loaded {
  delivery: {
    id: string;
    subscriptionId: string;
    provider: string;
    event: string;
    emissionId: string;
    systemIds: string[];
    payload: Record<string, unknown>;
    status: LoadedRow['status'];
    attempts: number;
    test: boolean;
    createdAt: Date;
  };
  emission: { occurredAt: Date } | null;
  subscription: { id: string; name: string; config: Record<string, unknown>; connectionId: string | null; retryPolicy: RetryPolicyInput | null } | null;
  connectionRow: { config: Record<string, unknown> } | null;
  providerEnabled: boolean;
  eventType: Awaited<ReturnType<EventCatalogue['get']>>;
}

/** The failure of an activity whose delivery row does not exist (the workflow ends instead of waiting). */
function notFound(deliveryId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`delivery ${deliveryId} does not exist`, NOT_FOUND_FAILURE);
}

/** PostgreSQL's SQLSTATE for a foreign key violation. */
const FOREIGN_KEY_VIOLATION = '23503';

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
