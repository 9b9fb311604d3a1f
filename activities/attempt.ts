import { ApplicationFailure, Context } from '@temporalio/activity';
import { outcomeFromError } from '../providers/http/outcome';
import { parseDeliveryInput } from '../providers/input';
import type { ProviderRegistry, RegisteredProvider } from '../providers/registry';
import type { DeliveryOutcome, GuardedHttpClient, ProviderDefinition } from '../providers/types';
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
type LaneHold = { outcome: 'waiting'; waitingFor: string } | { outcome: 'superseded'; supersededBy: string };

/** What one provider call needs: the providers, the key box for secret fields, the guarded client, the claims. */
interface AttemptDeps {
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

/** `trigger` set (deliveryWorkflowV2): the attempt passes its target's circuit first; V1 runs never wait on one. */
type AttemptCall = { deliveryId: string; attempt: number; redelivery: boolean; trigger?: 'scheduled' | 'manual' };

/** A loaded delivery whose subscription still exists. */
type LoadedAttempt = Loaded & { subscription: NonNullable<Loaded['subscription']> };

/** An attempt that may be sent: its provider, its input decrypted and parsed, what it follows up on (prepare's output). */
interface Prepared {
  loaded: LoadedAttempt;
  /** The registry's entry (secret paths, config schema: what a config update is checked against). */
  provider: RegisteredProvider;
  /** The definition that sends; for a plugin's provider, the one its host prepared for this input. */
  def: ProviderDefinition;
  /** The subscription's config, decrypted, as stored. */
  config: Record<string, unknown>;
  /** The config and connection as the provider's schemas parsed them (defaults applied): what it is given. */
  input: { config: unknown; connection: unknown };
  /** The delivery's secret values: every string the attempt keeps is sanitised with them. */
  known: string[];
  /** The event's subject value (follow-ups), when its event type names one. */
  subject: string | undefined;
  /** The place of the external record this delivery creates or updates, when it follows up on one. */
  recordTarget: string | undefined;
}

/** What prepare() found before anything could be sent: the attempt's verdict, and the secrets known so far. */
interface Unsendable {
  outcome: DeliveryOutcome;
  known: string[];
}

/** An attempt admitted by its target and lane (admit's output): send it now. */
interface Admitted {
  admitted: true;
  /** When the attempt started: when its rate-limit slot came, if it waited for one. */
  startedAtMs: number;
  /** The target's key (circuit and rate limit), when the provider names a target. */
  target: string | undefined;
  /** Set when the target's rate limit applies: the answer is learnt from (a 429 holds the target). */
  limitKey: string | undefined;
  /** The external record this attempt creates or updates. */
  role: Exclude<FollowUpRole, { role: 'wait' }> | undefined;
}

/** Nothing sent: the lane, the external record, the circuit or the rate limit holds the attempt. */
interface NotAdmitted {
  admitted: false;
  hold: AttemptResult | Throttled | LaneHold;
}

/**
 * Builds the attempt logic: one provider call for a loaded delivery, its verdict sanitised. Provider verdicts
 * come back as values; only a failed look-up of a store (nothing sent) throws, as an `Infrastructure` failure.
 * An attempt is prepared (provider, decrypted and parsed input), admitted (lane, circuit, external record,
 * rate limit) and sent (the provider call, its outcome sanitised), each step a function of its own.
 */
export function createAttempt(deps: AttemptDeps) {
  const { logger, providers, secrets, http, followUps, lanes, signalLane, targetLimits, metrics, targets } = deps;
  const bodyMaxBytes = deps.attemptBodyMaxBytes ?? DEFAULT_ATTEMPT_BODY_MAX_BYTES;

  /** The sanitised result of an outcome, measured. */
  function finish(loaded: Loaded, outcome: DeliveryOutcome, startedAtMs: number, known: string[] = []): AttemptResult {
    const result = toResult(outcome, startedAtMs, known);
    metrics?.attempted(loaded.delivery.provider, outcome.kind, result.durationMs);
    return result;
  }

  /**
   * The provider and its input: the subscription, connection and provider must still exist (the provider
   * enabled), the secret fields decrypt, the input passes the provider's schemas (parsed once, here: the
   * provider never parses again), and a plugin's host accepts it. Sends nothing and writes nothing.
   */
  async function prepare(loaded: Loaded): Promise<Prepared | Unsendable> {
    const { delivery, subscription, eventType, connectionRow } = loaded;
    if (!subscription) return { outcome: { kind: 'permanent', error: 'The subscription was deleted', errorCode: 'subscription_deleted' }, known: [] };
    const provider = providers.get(delivery.provider);
    if (!provider) {
      return {
        outcome: {
          kind: 'permanent',
          error: `Provider "${delivery.provider}" is not installed (or its plugin failed to load); redeliver once it is back`,
          errorCode: 'provider_missing',
        },
        known: [],
      };
    }
    if (!loaded.providerEnabled) {
      return {
        outcome: {
          kind: 'permanent',
          error: `Provider "${delivery.provider}" is disabled by an admin; redeliver once it is enabled again`,
          errorCode: 'provider_disabled',
        },
        known: [],
      };
    }
    if (subscription.connectionId && !connectionRow) {
      return { outcome: { kind: 'permanent', error: `Connection ${subscription.connectionId} was deleted`, errorCode: 'connection_missing' }, known: [] };
    }
    let config: Record<string, unknown>;
    let connection: Record<string, unknown> | undefined;
    try {
      config = decryptFields(subscription.config, provider.secretPaths, secrets);
      if (connectionRow) connection = decryptFields(connectionRow.config, provider.connectionSecretPaths, secrets);
    } catch (err) {
      return { outcome: { kind: 'permanent', error: safeErrorMessage(err), errorCode: 'decrypt_failed' }, known: [] };
    }
    const known = [...secretValues(config, provider.secretPaths), ...(connection ? secretValues(connection, provider.connectionSecretPaths) : [])];
    const subject = subjectValueOf(eventType?.subjectKey, delivery.payload);
    let def = provider.definition;
    const parsed = parseDeliveryInput(def, config, connection);
    if (!parsed.ok) return { outcome: parsed.outcome, known };
    const remote = remoteOf(def);
    if (remote) {
      // a plugin's provider: its host checks the input and answers its targets (its code never runs here)
      let prepared;
      try {
        prepared = await remote.prepare(parsed.config, parsed.connection);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`plugin host: ${safeErrorMessage(err, known)}`, 'Infrastructure');
      }
      if (!prepared.ok) return { outcome: prepared.outcome, known };
      def = prepared.definition;
    }
    // test sends stand alone: they neither create the record real events follow up on, nor update it
    const followsUp = def.followUps && subject !== undefined && !delivery.test;
    const recordTarget = followsUp ? def.followUpTarget?.(parsed.config, parsed.connection) : undefined;
    return {
      loaded: { ...loaded, subscription },
      provider,
      def,
      config,
      input: { config: parsed.config, connection: parsed.connection },
      known,
      subject,
      recordTarget,
    };
  }

  /**
   * May the attempt be sent now? In this order: its turn in its lane (ordered follow-ups), its target's circuit
   * (`trigger` set), its claim on the external record, a slot of its target's rate limit (`gated`, not a test
   * send). Nothing is sent when it is not admitted; `startedAtMs` is when the attempt began.
   */
  async function admit(call: AttemptCall, p: Prepared, startedAtMs: number, gated: boolean): Promise<Admitted | NotAdmitted> {
    const { def, input, recordTarget, subject } = p;
    const { delivery, subscription } = p.loaded;
    // ordered follow-ups: one delivery of a lane at a time, in the order ingest accepted the events
    if (lanes && recordTarget && delivery.subjectKey && delivery.laneSeq) {
      let turn;
      try {
        turn = await lanes.turn(
          { id: delivery.id, subscriptionId: delivery.subscriptionId, provider: def.id, subjectKey: delivery.subjectKey, laneSeq: delivery.laneSeq },
          laneKeyOf(def.id, recordTarget, delivery.subjectKey),
        );
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look at the delivery's lane: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (turn.kind === 'wait') {
        // V1 runs know no lane wait: theirs is the follow-up deferral (same effect: nothing sent, wait, look again)
        if (!gated) return notAdmitted({ outcome: 'deferred', startedAtMs, durationMs: 0, error: `Waiting for delivery ${turn.deliveryId}, earlier in its lane` });
        return notAdmitted({ outcome: 'waiting', waitingFor: turn.deliveryId });
      }
      const coalesce = coalesces(def, input.config as Record<string, unknown>, subscription.coalesceFollowUps);
      if (gated && turn.newer && coalesce && call.trigger === 'scheduled' && !call.redelivery) {
        return notAdmitted({ outcome: 'superseded', supersededBy: turn.newer });
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
    const target = targetKeyOf(def, input.config as Record<string, unknown>, input.connection as Record<string, unknown> | undefined);
    if (target && targets && call.trigger) {
      let gate;
      try {
        gate = await targets.gate(target, call.trigger, delivery.test);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not check the target's circuit: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (!gate.pass) return notAdmitted({ outcome: 'held', startedAtMs, durationMs: 0, retryAfterMs: gate.waitMs, target });
    }

    // follow-ups: find or claim the external record of this subject at this target
    let role: Admitted['role'];
    if (recordTarget && subject !== undefined) {
      let claim: FollowUpRole;
      try {
        claim = await followUps.claim({ provider: def.id, targetKey: recordTarget, subject: recordSubject(delivery.event, subject) }, delivery.id);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`could not look up the external record: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
      }
      if (claim.role === 'wait') {
        return notAdmitted({ outcome: 'deferred', startedAtMs, durationMs: 0, error: `Waiting for delivery ${claim.creatingDeliveryId} to create the external record` });
      }
      role = claim;
    }

    const limitKey = gated && !delivery.test && targetLimits ? target : undefined;
    if (targetLimits && limitKey) {
      const throttled = await passGate(targetLimits, limitKey);
      if (throttled) return notAdmitted(throttled);
      startedAtMs = Date.now(); // the attempt starts when its slot came
    }
    return { admitted: true, startedAtMs, target, limitKey, role };
  }

  /**
   * The provider call (heartbeating), its outcome sanitised with the delivery's secrets into the attempt's
   * result: its exchanges masked, a rate-limit answer learnt, a config update checked, one worker log line.
   */
  async function send(call: AttemptCall, p: Prepared, admitted: Admitted): Promise<AttemptResult> {
    const { def, input, known, subject, loaded } = p;
    const { delivery, subscription, emission, eventType } = loaded;
    const { target, limitKey, role } = admitted;
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
        attempt: call.attempt,
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
        config: input.config,
        connection: input.connection,
        followUp: role?.role === 'follower' ? { externalId: role.externalId } : undefined,
        test: delivery.test,
        redelivery: call.redelivery,
        http: recordingClient(http, exchanges),
      });
    } catch (err) {
      // a plugin host that crashed or hung: not an attempt (the workflow tries again); the plugin may have sent
      if (isPluginHostFailure(err)) throw ApplicationFailure.nonRetryable(`plugin host: ${safeErrorMessage(err, known)}`, 'Infrastructure');
      outcome = outcomeFromError(err, known);
    } finally {
      clearInterval(heartbeat);
    }
    const result = finish(loaded, outcome, admitted.startedAtMs, known);
    if (exchanges.length) result.exchanges = storableExchanges(exchanges, known, bodyMaxBytes);
    if (targetLimits && limitKey) await learnFrom(targetLimits, limitKey, result, logger);
    if (target) result.target = target;
    if (role) result.followUp = { recordId: role.recordId, role: role.role };
    if (outcome.kind === 'success' && outcome.configUpdate) {
      const update = checkedConfigUpdate(outcome.configUpdate, p.config, p.provider);
      if (update) result.configUpdate = update;
      else logger.warn({ deliveryId: delivery.id, provider: def.id, fields: Object.keys(outcome.configUpdate) }, 'provider config update refused');
    }
    logger.info(
      { deliveryId: delivery.id, attempt: call.attempt, outcome: result.outcome, httpStatus: result.httpStatus, durationMs: result.durationMs },
      'delivery attempt',
    );
    return result;
  }

  /**
   * `gated`: the caller handles a `throttled` result (deliveryWorkflowV2), so the target's rate limits apply.
   * `beforeSend`: runs once the attempt is admitted, just before the provider is called (a throw: nothing sent).
   */
  function callProvider(call: AttemptCall, loaded: Loaded): Promise<AttemptResult>;
  function callProvider(call: AttemptCall, loaded: Loaded, opts: { gated: true; beforeSend?: () => Promise<void> }): Promise<AttemptResult | Throttled | LaneHold>;
  async function callProvider(call: AttemptCall, loaded: Loaded, opts: { gated?: boolean; beforeSend?: () => Promise<void> } = {}): Promise<AttemptResult | Throttled | LaneHold> {
    const startedAtMs = Date.now();
    const prepared = await prepare(loaded);
    if ('outcome' in prepared) return finish(loaded, prepared.outcome, startedAtMs, prepared.known);
    const admission = await admit(call, prepared, startedAtMs, opts.gated === true);
    if (!admission.admitted) return admission.hold;
    if (opts.beforeSend) await opts.beforeSend();
    return send(call, prepared, admission);
  }
  return callProvider;
}

function notAdmitted(hold: NotAdmitted['hold']): NotAdmitted {
  return { admitted: false, hold };
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
