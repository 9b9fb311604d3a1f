import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import { DeliveryEntity } from '../entities/delivery.entity';
import { DeliveryAttemptEntity } from '../entities/delivery-attempt.entity';
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
import { scheduleFromPolicy } from '../workflows/retry';
import type { AttemptRecord, AttemptResult, DeliveryPlan } from '../workflows/types';

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
    let loaded: Awaited<ReturnType<typeof load>>;
    try {
      loaded = await load(input.deliveryId);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`could not load the delivery: ${safeErrorMessage(err)}`, 'Infrastructure');
    }
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

  /** Writes one attempt and the delivery's new state in one transaction; safe to repeat. */
  async function recordAttempt(r: AttemptRecord): Promise<void> {
    await dataSource.transaction(async (tx) => {
      await tx
        .createQueryBuilder()
        .insert()
        .into(DeliveryAttemptEntity)
        .values({
          deliveryId: r.deliveryId,
          attempt: r.attempt,
          startedAt: new Date(r.startedAtMs),
          durationMs: Math.round(r.durationMs),
          outcome: r.outcome,
          httpStatus: r.httpStatus ?? null,
          errorCode: r.errorCode ?? null,
          error: r.error ?? null,
          log: r.log ?? null,
          trigger: r.trigger,
        })
        .orIgnore()
        .execute();
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
      if (r.pauseReason) {
        await tx.query(
          `UPDATE subscriptions SET paused_reason = $2, updated_at = now()
           WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1)`,
          [r.deliveryId, r.pauseReason],
        );
      }
    });
  }

  /** Ends a delivery as cancelled by an operator. */
  async function recordCancelled(input: { deliveryId: string; reason: string }): Promise<void> {
    await deliveries.update(
      { id: input.deliveryId },
      { status: 'failed', nextRetryAt: null, error: sanitise(input.reason), updatedAt: new Date() },
    );
  }

  return { loadDeliveryPlan, attemptDelivery, recordAttempt, recordCancelled };
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
