import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import type { ProviderRegistry } from '../providers/registry';
import type { GuardedHttpClient } from '../providers/types';
import { EventCatalogue } from '../src/catalogue/store';
import type { Logger } from '../src/logger';
import { safeErrorMessage } from '../providers/shared/sanitise';
import type { SecretBox } from '../src/secrets/crypto';
import { decideAfterAttempt, scheduleFromPolicy } from '../workflows/retry';
import { INFRASTRUCTURE_FAILURE, type AttemptInput, type AttemptRecord, type AttemptReport, type AttemptResult, type DeliveryPlan, type StoredAttempt } from '../workflows/types';
import { createAttempt, type AttemptMetrics } from './attempt';
import { DeliveryLog, notFound, type DeliveryLogObserver, type Loaded } from '../src/deliveries/log';
import { followUpClaims, type FollowUpClaims } from '../src/deliveries/follow-ups';
import { targetLimits, type TargetLimits } from '../src/targets/rate-limits';
import type { AttemptSubject, TargetHealth } from '../src/targets/health';
import { Lanes } from '../src/deliveries/lanes';

/** What the activities need, handed in by the worker (or a test): narrow stores, not the DataSource. */
export interface ActivityDeps {
  log: Pick<DeliveryLog, 'load' | 'write' | 'cancel' | 'mark'>;
  followUps: FollowUpClaims;
  /** Ordered follow-ups (optional: without them deliveries are not laned). */
  lanes?: Pick<Lanes, 'turn' | 'exclude' | 'supersede' | 'toWake'>;
  /**
   * Signals the workflows of deliveries waiting in a lane that the delivery ahead has ended (laneTurnSignal),
   * through the worker's Temporal client; without it they find out when their wait times out.
   */
  signalLane?: (workflowIds: string[]) => Promise<void>;
  logger: Logger;
  providers: ProviderRegistry;
  secrets: SecretBox;
  http: GuardedHttpClient;
  /** Rate limits per destination (optional: without them no limit applies). */
  targetLimits?: TargetLimits;
  /** Attempt durations by provider and outcome (absent: not measured). */
  metrics?: AttemptMetrics;
  /** Target circuits and the hub's own events (optional: without it attempts are never held). */
  targets?: TargetHealth;
  /** How much of each request and response body an attempt keeps (ATTEMPT_BODY_MAX_BYTES; default 64 KiB). */
  attemptBodyMaxBytes?: number;
}

/** The PostgreSQL-backed stores of ActivityDeps; `metrics` hears of every attempt written. */
export function activityStores(dataSource: DataSource, metrics?: DeliveryLogObserver): Pick<ActivityDeps, 'log' | 'followUps' | 'lanes' | 'targetLimits'> {
  return {
    log: new DeliveryLog(dataSource, new EventCatalogue(dataSource), metrics),
    followUps: followUpClaims(dataSource),
    lanes: new Lanes(dataSource),
    targetLimits: targetLimits(dataSource),
  };
}

/** Builds the delivery activities over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const { log, logger, targets, lanes, signalLane } = deps;
  const callProvider = createAttempt(deps);

  /** Loads what the workflow loop needs; ids and numbers only, no secrets. */
  async function loadDeliveryPlan(deliveryId: string): Promise<DeliveryPlan> {
    const loaded = await log.load(deliveryId);
    if (!loaded) throw notFound(deliveryId);
    return {
      status: loaded.delivery.status,
      attemptsSoFar: loaded.delivery.attempts,
      scheduleMs: scheduleFromPolicy(loaded.subscription?.retryPolicy),
    };
  }

  /**
   * Makes one provider call (deliveryWorkflow, V1). Provider verdicts come back as values (sanitised); only a
   * failure to load the delivery (nothing sent) throws, as an `Infrastructure` failure the workflow waits out.
   */
  async function attemptDelivery(input: { deliveryId: string; attempt: number; redelivery: boolean }): Promise<AttemptResult> {
    // V1 writes the attempt from the workflow: its request and response are not kept (no bodies in the history)
    return withoutExchanges(await callProvider(input, await loadForAttempt(input.deliveryId)));
  }

  /**
   * Calls the provider once for `deliveryWorkflowV2` and writes the attempt to the log in the same
   * activity. The log write is retried for up to RECORD_WITHIN_MS; after that the record goes back to the
   * workflow, which writes it with unlimited retries (the attempt is never lost from the log).
   */
  async function deliverAttempt(input: AttemptInput): Promise<AttemptReport> {
    const loaded = await loadForAttempt(input.deliveryId);
    // run as a local activity (docs/DESIGN.md decision 15), the attempt is marked before it is sent: finding its
    // own mark, this local activity is running again after its worker died mid-attempt (the workflow task timed
    // out before its result was recorded), so the provider may have been called: logged as lost, as
    // recordLostAttempt does for an activity lost with its worker (a record it had written stands)
    const token = localAttemptToken();
    if (token && loaded.delivery.attemptToken === token) {
      const stored = await lostAttempt(input, loaded);
      logger.warn({ deliveryId: input.deliveryId, attempt: input.attempt, status: stored.status }, 'attempt run again after its worker was lost: logged as lost');
      return { kind: 'recorded', result: { outcome: 'retryable', startedAtMs: Date.now(), durationMs: 0, errorCode: 'attempt_lost', error: LOST_ERROR }, stored };
    }
    const status = loaded.delivery.status;
    // a second start of a finished delivery (e.g. after Temporal forgot the first run): send nothing
    if (input.trigger !== 'manual' && (status === 'success' || status === 'failed' || status === 'superseded')) return { kind: 'closed', status };
    const beforeSend = token
      ? async () => {
          try {
            await log.mark(input.deliveryId, token);
          } catch (err) {
            throw ApplicationFailure.nonRetryable(`could not mark the attempt: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
          }
        }
      : undefined;
    const result = await callProvider(input, loaded, { gated: true, beforeSend });
    if (result.outcome === 'waiting') return { kind: 'waiting', forDeliveryId: result.waitingFor };
    if (result.outcome === 'superseded') {
      // a later delivery of the lane carries the newer state of the same record: this one ends, never sent
      if (!(await lanes!.supersede(input.deliveryId, result.supersededBy))) {
        const now = await loadForAttempt(input.deliveryId);
        if (now.delivery.status === 'success' || now.delivery.status === 'failed') return { kind: 'closed', status: now.delivery.status };
      }
      logger.info({ deliveryId: input.deliveryId, supersededBy: result.supersededBy }, 'delivery superseded by a newer one of its lane');
      await handOn(input.deliveryId, loaded);
      return { kind: 'closed', status: 'superseded' };
    }
    if (result.outcome === 'deferred') return { kind: 'deferred', result: withoutExchanges(result) };
    if (result.outcome === 'throttled') return { kind: 'throttled', waitMs: result.waitMs };
    if (result.outcome === 'held') return { kind: 'held', waitMs: result.retryAfterMs ?? 1_000 };
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
    const written = await writeWithin(record, RECORD_WITHIN_MS);
    // the exchanges stay out of the workflow's history: a record the workflow writes keeps none
    if (!written) return { kind: 'unrecorded', result: withoutExchanges(result), record: withoutExchanges(record) };
    const { refused, ...stored } = written;
    await targets?.after(subjectOf(loaded), result, stored, input.attempt);
    if (refused) await refusedByLog(loaded, input.attempt, refused, result.target);
    if (stored.status !== 'retrying') await handOn(input.deliveryId, loaded);
    return { kind: 'recorded', result: withoutExchanges(result), stored };
  }

  /**
   * Logs an attempt that was lost with its activity (timeout, worker killed): the provider may have been
   * called. When the activity had already written its attempt, that record stands and is returned.
   */
  async function recordLostAttempt(input: AttemptInput): Promise<StoredAttempt> {
    return lostAttempt(input, await log.load(input.deliveryId));
  }

  async function lostAttempt(input: AttemptInput, loaded: Loaded | undefined): Promise<StoredAttempt> {
    const decided = decideAfterAttempt('retryable', input.attempt, input.budgetBase, scheduleFromPolicy(loaded?.subscription?.retryPolicy), Math.random());
    const stored = await log.write({
      outcome: 'retryable',
      startedAtMs: Date.now(),
      durationMs: 0,
      errorCode: 'attempt_lost',
      error: LOST_ERROR,
      deliveryId: input.deliveryId,
      attempt: input.attempt,
      trigger: input.trigger,
      status: decided.status,
      ...(decided.status === 'retrying' ? { nextRetryAtMs: Date.now() + decided.delayMs } : {}),
    });
    if (loaded && stored.status === 'failed' && decided.status === 'failed') await targets?.exhausted(subjectOf(loaded), input.attempt, 'The last attempt did not finish');
    if (stored.status !== 'retrying') await handOn(input.deliveryId, loaded ?? undefined);
    return stored;
  }

  /**
   * load() for an attempt: a delivery that cannot be loaded is an `Infrastructure` failure (nothing was
   * sent; the workflow waits it out), one that does not exist a `DeliveryNotFound` failure (the workflow ends).
   */
  async function loadForAttempt(deliveryId: string): Promise<Loaded> {
    let loaded: Loaded | undefined;
    try {
      loaded = await log.load(deliveryId);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`could not load the delivery: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
    }
    if (!loaded) throw notFound(deliveryId);
    return loaded;
  }

  /** Writes one attempt (see DeliveryLog.write); the workflows call it with Temporal's unlimited retries. */
  async function recordAttempt(r: AttemptRecord): Promise<StoredAttempt> {
    const { refused, ...stored } = await log.write(r);
    if (stored.status === 'retrying') return stored;
    const loaded = await log.load(r.deliveryId);
    if (loaded && refused) await refusedByLog(loaded, r.attempt, refused, r.target);
    else if (loaded && targets && stored.status === 'failed' && r.status === 'failed' && r.outcome === 'retryable') {
      await targets.exhausted(subjectOf(loaded), r.attempt, r.error, r.target);
    }
    await handOn(r.deliveryId, loaded);
    return stored;
  }

  /**
   * A delivery has ended (its end is committed): tell the deliveries waiting behind it in its lane. Best
   * effort: a waiter that misses the signal looks at its lane again when its wait times out.
   */
  async function handOn(deliveryId: string, loaded: Loaded | undefined): Promise<void> {
    // only deliveries of providers that keep follow-up records are ever waited for (not, e.g., every webhook)
    if (!lanes || !loaded?.delivery.subjectKey || !deps.providers.get(loaded.delivery.provider)?.definition.followUps) return;
    try {
      const waiting = await lanes.toWake(deliveryId);
      if (waiting.length && signalLane) await signalLane(waiting);
    } catch (err) {
      logger.warn({ deliveryId, err: safeErrorMessage(err) }, 'could not hand the lane on; the next delivery looks again when its wait times out');
    }
  }

  /** An attempt the log refused ended its delivery `failed` (DeliveryLog.write): said in the worker's log and as `hub.delivery.exhausted`. */
  async function refusedByLog(loaded: Loaded, attempt: number, reason: string, target?: string): Promise<void> {
    logger.warn({ deliveryId: loaded.delivery.id, attempt, reason }, 'attempt refused by the delivery log; the delivery ends failed');
    await targets?.exhausted(subjectOf(loaded), attempt, reason, target);
  }

  /** log.write, retried for up to `withinMs` while heartbeating; undefined when the database stayed unreachable. */
  async function writeWithin(r: AttemptRecord, withinMs: number): Promise<(StoredAttempt & { refused?: string }) | undefined> {
    const deadline = Date.now() + withinMs;
    for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 2_000)) {
      try {
        return await log.write(r);
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (Date.now() + waitMs > deadline) {
          logger.warn({ deliveryId: r.deliveryId, attempt: r.attempt, err: safeErrorMessage(err) }, 'attempt not logged yet; the workflow will retry it');
          return undefined;
        }
        if (!Context.current().info.isLocal) Context.current().heartbeat();
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /** Ends a delivery as cancelled by an operator, and hands its lane on. */
  async function recordCancelled(input: { deliveryId: string; reason: string }): Promise<void> {
    await log.cancel(input.deliveryId, input.reason);
    await handOn(input.deliveryId, await log.load(input.deliveryId));
  }

  return { loadDeliveryPlan, attemptDelivery, deliverAttempt, recordAttempt, recordLostAttempt, recordCancelled };
}

/** An attempt's result or record without its HTTP exchanges: what may go into a workflow's history. */
function withoutExchanges<T extends { exchanges?: unknown }>(r: T): T {
  if (r.exchanges === undefined) return r;
  const { exchanges: _dropped, ...rest } = r;
  return rest as T;
}

/** The delivery of a loaded attempt, as target health and the hub's events name it. */
function subjectOf(loaded: Loaded): AttemptSubject {
  const d = loaded.delivery;
  return {
    id: d.id, subscriptionId: d.subscriptionId, subscriptionName: loaded.subscription?.name, provider: d.provider,
    event: d.event, emissionId: d.emissionId, test: d.test, subscriptionTargetKey: loaded.subscription?.targetKey,
  };
}

/** What an attempt lost with its activity or its worker is logged with. */
const LOST_ERROR = 'The attempt did not finish (timeout or worker restart); the receiver may have seen it';

/**
 * The token of the attempt when it runs as a local activity: its run and its sequence in that run's commands,
 * the same when the workflow task is retried after its worker died and the same local activity runs again,
 * another for any later attempt. Undefined for a (non-local) activity, or outside one (a unit test).
 */
function localAttemptToken(): string | undefined {
  let info;
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const runId = info.workflowExecution?.runId;
  return info.isLocal && runId ? `${runId}:${info.activityId}` : undefined;
}

/** The activity interface the workflow proxies. */
export type Activities = ReturnType<typeof createActivities>;

/** How long the attempt activity retries its log write before handing the record to the workflow (heartbeat timeout is 15 s). */
const RECORD_WITHIN_MS = 10_000;
