import { ApplicationFailure, Context } from '@temporalio/activity';
import { outcomeFromError } from '../providers/http/outcome';
import { parseDeliveryInput } from '../providers/input';
import type { ProviderRegistry } from '../providers/registry';
import type { DeliveryOutcome, GuardedHttpClient } from '../providers/types';
import type { Logger } from '../src/logger';
import { safeErrorMessage, sanitise, sanitiseCode } from '../providers/shared/sanitise';
import type { SecretBox } from '../src/secrets/crypto';
import { decryptFields, secretValues } from '../src/secrets/fields';
import { INFRASTRUCTURE_FAILURE, type AttemptResult } from '../workflows/types';
import type { Loaded } from '../src/deliveries/log';
import type { FollowUpClaims, FollowUpRole } from '../src/deliveries/follow-ups';
import { learnFrom, passGate, type Throttled } from './target-gate';
import type { TargetLimits } from '../src/targets/rate-limits';
import { targetKeyOf } from '../src/targets/key';
import type { TargetHealth } from '../src/targets/health';
import { isPluginHostFailure, remoteOf } from '../providers/remote';
import { coalesces, laneKeyOf, recordSubject, subjectValueOf, type Lanes } from '../src/deliveries/lanes';
import { DEFAULT_ATTEMPT_BODY_MAX_BYTES, recordingClient, storableExchanges, type RawExchange } from './exchanges';

/** Nothing sent (deliveryWorkflowV2 only): the lane holds the attempt, or a later delivery carries its state. */
export type LaneHold = { outcome: 'waiting'; waitingFor: string } | { outcome: 'superseded'; supersededBy: string };

/** What one provider call needs: the providers, the key box for secret fields, the guarded client, the claims. */
export interface AttemptDeps {
  logger: Logger;
  providers: ProviderRegistry;
  secrets: SecretBox;
  http: GuardedHttpClient;
  followUps: FollowUpClaims;
  /** Ordered follow-ups (docs/DESIGN.md decision 12); without them deliveries are not laned. */
  lanes?: Pick<Lanes, 'turn' | 'exclude'>;
  /** Wakes deliveries waiting in a lane (laneTurnSignal through the worker's client). */
  signalLane?: (workflowIds: string[]) => Promise<void>;
  /** Rate limits per destination; without them no limit applies. */
  targetLimits?: TargetLimits;
  /** Target circuits: an attempt to a target whose circuit is open is held instead of sent. */
  targets?: Pick<TargetHealth, 'gate'>;
  metrics?: AttemptMetrics;
  /** How much of each request and response body an attempt keeps (ATTEMPT_BODY_MAX_BYTES; default 64 KiB). */
  attemptBodyMaxBytes?: number;
}

/** Measures provider calls (the worker's Prometheus metrics): provider id, outcome kind, duration in milliseconds. */
export interface AttemptMetrics {
  attempted(provider: string, outcome: 'success' | 'retryable' | 'permanent', durationMs: number): void;
}

/**
 * Builds the attempt logic: one provider call for a loaded delivery, its verdict sanitised. Provider verdicts
 * come back as values; only a failed follow-up lookup (nothing sent) throws, as an `Infrastructure` failure.
 */
export function createAttempt(deps: AttemptDeps) {
  const { logger, providers, secrets, http, followUps, lanes, signalLane, targetLimits, metrics, targets } = deps;
  const bodyMaxBytes = deps.attemptBodyMaxBytes ?? DEFAULT_ATTEMPT_BODY_MAX_BYTES;
  /** `trigger` set (deliveryWorkflowV2): the attempt passes its target's circuit first; V1 runs never wait on one. */
  type Input = { deliveryId: string; attempt: number; redelivery: boolean; trigger?: 'scheduled' | 'manual' };
  /** `gated`: the caller handles a `throttled` result (deliveryWorkflowV2), so the target's rate limits apply. */
  function callProvider(input: Input, loaded: Loaded): Promise<AttemptResult>;
  /** `beforeSend`: runs once nothing more holds the attempt, just before the provider is called (a throw: nothing sent). */
  function callProvider(input: Input, loaded: Loaded, opts: { gated: true; beforeSend?: () => Promise<void> }): Promise<AttemptResult | Throttled | LaneHold>;
  async function callProvider(input: Input, loaded: Loaded, opts: { gated?: boolean; beforeSend?: () => Promise<void> } = {}): Promise<AttemptResult | Throttled | LaneHold> {
    let startedAtMs = Date.now();
    const finish = (outcome: DeliveryOutcome, known: string[] = []): AttemptResult => {
      const result = toResult(outcome, startedAtMs, known);
      metrics?.attempted(loaded.delivery.provider, outcome.kind, result.durationMs);
      return result;
    };
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
    const subject = subjectValueOf(eventType?.subjectKey, delivery.payload);
    let def = provider.definition;
    // parsed once, here: the provider gets the schema's output (defaults applied) and never parses again
    const parsed = parseDeliveryInput(def, config, connection);
    if (!parsed.ok) return finish(parsed.outcome, known);
    const remote = remoteOf(def);
    if (remote) {
      // a plugin's provider: its host checks the input and answers its targets (its code never runs here)
      let prepared;
      try {
        prepared = await remote.prepare(parsed.config, parsed.connection);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`plugin host: ${safeErrorMessage(err, known)}`, 'Infrastructure');
      }
      if (!prepared.ok) return finish(prepared.outcome, known);
      def = prepared.definition;
    }
    // test sends stand alone: they neither create the record real events follow up on, nor update it
    const followsUp = def.followUps && subject !== undefined && !delivery.test;
    const targetKey = followsUp ? def.followUpTarget?.(parsed.config, parsed.connection) : undefined;

    // ordered follow-ups: one delivery of a lane at a time, in the order ingest accepted the events
    if (lanes && targetKey && delivery.subjectKey && delivery.laneSeq) {
      let turn;
      try {
        turn = await lanes.turn(
          { id: delivery.id, subscriptionId: delivery.subscriptionId, provider: def.id, subjectKey: delivery.subjectKey, laneSeq: delivery.laneSeq },
          laneKeyOf(def.id, targetKey, delivery.subjectKey),
        );
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look at the delivery's lane: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (turn.kind === 'wait') {
        // V1 runs know no lane wait: theirs is the follow-up deferral (same effect: nothing sent, wait, look again)
        if (!opts.gated) return { outcome: 'deferred', startedAtMs, durationMs: 0, error: `Waiting for delivery ${turn.deliveryId}, earlier in its lane` };
        return { outcome: 'waiting', waitingFor: turn.deliveryId };
      }
      const coalesce = coalesces(def, parsed.config as Record<string, unknown>, subscription.coalesceFollowUps);
      if (opts.gated && turn.newer && coalesce && input.trigger === 'scheduled' && !input.redelivery) {
        return { outcome: 'superseded', supersededBy: turn.newer };
      }
    } else if (lanes && def.followUps && delivery.subjectKey && delivery.laneSeq && delivery.attempts === 0) {
      // a delivery of the subject to a provider with lanes that edits no record (e.g. a Slack incoming webhook,
      // beside bot subscriptions): in no lane, so that the lanes of its subject do not wait behind it (until now
      // its lane was unknown, and they did); those that had started to wait are woken
      let waiting: string[];
      try {
        waiting = await lanes.exclude(delivery.id);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look at the delivery's lane: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (waiting.length) await signalLane?.(waiting).catch(() => undefined);
    }
    // one key for the target's circuit and its rate limit (the row GET /targets lists)
    const target = targetKeyOf(def, parsed.config as Record<string, unknown>, parsed.connection as Record<string, unknown> | undefined);
    if (target && targets && input.trigger) {
      let gate;
      try {
        gate = await targets.gate(target, input.trigger, delivery.test);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not check the target's circuit: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (!gate.pass) return { outcome: 'held', startedAtMs, durationMs: 0, retryAfterMs: gate.waitMs, target };
    }

    // follow-ups: find or claim the external record of this subject at this target
    let role: FollowUpRole | undefined;
    if (targetKey && subject !== undefined) {
      try {
        role = await followUps.claim({ provider: def.id, targetKey, subject: recordSubject(delivery.event, subject) }, delivery.id);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look up the external record: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (role.role === 'wait') {
        return { outcome: 'deferred', startedAtMs, durationMs: 0, error: `Waiting for delivery ${role.creatingDeliveryId} to create the external record` };
      }
    }

    const limits = opts.gated && !delivery.test ? targetLimits : undefined;
    const limitKey = limits ? target : undefined;
    if (limits && limitKey) {
      const throttled = await passGate(limits, limitKey);
      if (throttled) return throttled;
      startedAtMs = Date.now(); // the attempt starts when its slot came
    }

    if (opts.beforeSend) await opts.beforeSend();
    let outcome: DeliveryOutcome;
    // the requests the provider sends and their answers, kept with the attempt once masked (issue 23, gap 9)
    const exchanges: RawExchange[] = [];
    // tells Temporal this attempt is alive; if the worker dies, the workflow learns it within the heartbeat timeout
    // (a local activity has no heartbeat: its worker keeps the workflow task alive instead)
    const heartbeat = setInterval(() => {
      if (!Context.current().info.isLocal) Context.current().heartbeat();
    }, HEARTBEAT_EVERY_MS);
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
        config: parsed.config,
        connection: parsed.connection,
        followUp: role?.role === 'follower' ? { externalId: role.externalId } : undefined,
        test: delivery.test,
        redelivery: input.redelivery,
        http: recordingClient(http, exchanges),
      });
    } catch (err) {
      // a plugin host that crashed or hung: not an attempt (the workflow tries again); the plugin may have sent
      if (isPluginHostFailure(err)) throw ApplicationFailure.nonRetryable(`plugin host: ${safeErrorMessage(err, known)}`, 'Infrastructure');
      outcome = outcomeFromError(err, known);
    } finally {
      clearInterval(heartbeat);
    }
    const result = finish(outcome, known);
    if (exchanges.length) result.exchanges = storableExchanges(exchanges, known, bodyMaxBytes);
    if (limits && limitKey) await learnFrom(limits, limitKey, result, logger);
    if (target) result.target = target;
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
  return callProvider;
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

/** How often an attempt in progress heartbeats (the workflow's heartbeat timeout is 15 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/** Attempt output (script console) kept per attempt, after sanitising. */
const MAX_ATTEMPT_LOG_CHARS = 8000;

/** Longest external id kept (ids are short: a Jira key, a Slack ts, a Webex message id). */
const MAX_EXTERNAL_ID_CHARS = 1000;

function toResult(outcome: DeliveryOutcome, startedAtMs: number, secrets: string[]): AttemptResult {
  const base = {
    startedAtMs,
    durationMs: Date.now() - startedAtMs,
    httpStatus: outcome.httpStatus,
    ...(outcome.log ? { log: sanitiseLog(outcome.log, secrets) } : {}),
  };
  // every provider-derived string passes the sanitiser with the delivery's secrets, bounded (issue 19)
  if (outcome.kind === 'success') {
    return { ...base, outcome: 'success', externalId: outcome.externalId === undefined ? undefined : sanitise(outcome.externalId, secrets, MAX_EXTERNAL_ID_CHARS) };
  }
  const error = sanitise(outcome.error, secrets);
  const errorCode = outcome.errorCode === undefined ? undefined : sanitiseCode(outcome.errorCode, secrets);
  if (outcome.kind === 'retryable') {
    return { ...base, outcome: 'retryable', error, errorCode, retryAfterMs: outcome.retryAfterMs };
  }
  return {
    ...base,
    outcome: 'permanent',
    error,
    errorCode,
    pauseReason: outcome.pauseReason ? sanitise(outcome.pauseReason, secrets) : undefined,
  };
}
