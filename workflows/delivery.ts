import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  ATTEMPT_ACTIVITY_OPTIONS,
  DB_ACTIVITY_OPTIONS,
  DEFER_MS,
  INFRA_RETRY_MS,
  LANE_RECHECK_MS,
  LOCAL_ATTEMPT_OPTIONS,
  deliveryGone,
  historyIsLong,
  isInfrastructureFailure,
  isNotFoundFailure,
  rejectUpdate,
} from './loop';
import { SA_DELIVERY_STATUS } from './search-attributes';
import {
  cancelUpdate,
  laneTurnSignal,
  redeliverUpdate,
  type AttemptReport,
  type AttemptTrigger,
  type DeliveryWorkflowInput,
  type FinalStatus,
  type StoredAttempt,
} from './types';

// The attempt activity also writes the attempt to the log, so a successful delivery is one activity: the
// workflow's round trips through Temporal are most of a delivery's cost (see bench/ and the README).
const { deliverAttempt } = proxyActivities<Activities>(ATTEMPT_ACTIVITY_OPTIONS);
const { loadDeliveryPlan, recordAttempt, recordLostAttempt, recordCancelled } = proxyActivities<Activities>(DB_ACTIVITY_OPTIONS);
// the same attempt as a local activity: one workflow task and no activity task per successful delivery
const { deliverAttempt: deliverAttemptLocally } = proxyLocalActivities<Activities>(LOCAL_ATTEMPT_OPTIONS);

/** The patch that lets a long-running delivery continue as new (runs started before it replay without). */
const CONTINUE_AS_NEW_PATCH = 'continue-as-new-when-long';
/** The patch that runs attempts as local activities (runs that made attempts before it keep activities until it is met). */
const LOCAL_ATTEMPT_PATCH = 'attempt-as-local-activity';

/**
 * Drives one delivery to success or failure, recording every attempt exactly. A delivery whose row is gone
 * fails with a `DeliveryNotFound` failure; a long one continues as new with its state (`input.resume`).
 * What new deliveries start (docs/DESIGN.md decision 18): the paths V2 reaches through `patched()` are simply
 * its code, so a run writes no patch marker and no `TemporalChangeVersion` upsert (two history events and one
 * visibility write per delivery).
 */
export async function deliveryWorkflowV3(input: DeliveryWorkflowInput): Promise<FinalStatus> {
  return deliver(input, CURRENT);
}

/**
 * The same delivery for runs started before V3 (and their continuations as new): paths that came with a patch
 * are taken where `patched()` says so, so every recorded V2 history replays as it ran.
 */
export async function deliveryWorkflowV2(input: DeliveryWorkflowInput): Promise<FinalStatus> {
  return deliver(input, PATCHED);
}

/** How a run learns whether it takes a path that came with a patch. */
interface Paths {
  has(patch: string): boolean;
}
/** V2: the patch decides (a marker in the history; true for code that reaches it first). */
const PATCHED: Paths = { has: (patch) => patched(patch) };
/** V3: every such path is the code (no marker). */
const CURRENT: Paths = { has: () => true };

async function deliver(input: DeliveryWorkflowInput, paths: Paths): Promise<FinalStatus> {
  try {
    return await run(input, paths);
  } catch (err) {
    if (isNotFoundFailure(err)) {
      upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: 'failed' }]);
      throw deliveryGone(input.deliveryId);
    }
    throw err;
  }
}

async function run(input: DeliveryWorkflowInput, paths: Paths): Promise<FinalStatus> {
  let attempt = input.resume?.attempt ?? 0;
  if (!input.fresh && !input.resume) {
    const plan = await loadDeliveryPlan(input.deliveryId);
    if ((plan.status === 'success' || plan.status === 'failed' || plan.status === 'superseded') && input.trigger !== 'manual') return plan.status;
    attempt = plan.attemptsSoFar;
  }
  let woken = false;
  let cancelReason: string | undefined;
  let finished = false;
  // HubDeliveryStatus as started (pending) until a status is upserted. No start sets quietSuccess any more
  // (DESIGN decision 14); runs started with it wrote no upsert for a first-attempt success and must replay so
  const quiet = input.quietSuccess === true && input.fresh === true && !input.resume;
  let statusShown = false;
  // the delivery ahead in the lane has ended (a signal that may come at any time, even during an attempt)
  let laneTurn = false;
  setHandler(laneTurnSignal, () => {
    laneTurn = true;
  });
  // a message the delivery can no longer honour is refused here, before it is written to the history
  setHandler(
    redeliverUpdate,
    () => {
      woken = true;
      return { accepted: true };
    },
    {
      validator: () => {
        if (finished) rejectUpdate('The delivery has already ended');
        if (cancelReason !== undefined) rejectUpdate('The delivery is being cancelled');
      },
    },
  );
  setHandler(
    cancelUpdate,
    (reason: string) => {
      cancelReason = reason || 'Cancelled by an operator; no further retries';
      return { accepted: true };
    },
    {
      validator: (_reason: string) => {
        if (finished) rejectUpdate('The delivery has already ended');
        if (cancelReason !== undefined) rejectUpdate('The delivery is already being cancelled');
      },
    },
  );

  let trigger: AttemptTrigger = input.trigger ?? 'scheduled';
  let redelivery = input.redelivery === true;
  let infraFailures = input.resume?.infraFailures ?? 0;
  let deferrals = input.resume?.deferrals ?? 0;
  let laneWaits = input.resume?.laneWaits ?? 0;
  // a manual run of a closed delivery gets a fresh attempt budget from where it stands
  let budgetBase = input.resume?.budgetBase ?? (input.trigger === 'manual' ? attempt : 0);

  /**
   * The wait of an attempt that sent nothing (report kinds `waiting`, `deferred`, `throttled`, `held`): how long,
   * and what ends it early besides a cancel. One timer per wait, as each kind had in its own branch before
   * (the recorded histories replay unchanged). Counts the lane waits and deferrals its backoff goes by.
   */
  const notSentWait = (report: NotSent): NotSentWait => {
    switch (report.kind) {
      case 'waiting':
        // an earlier delivery of its lane is pending or retrying: wait for its end. The activity that ends that
        // delivery signals this workflow (laneTurnSignal); the timeout only bounds a lost signal. A redeliver
        // looks at the lane again (it does not make the attempt manual). No history from before ordered lanes
        // holds a 'waiting' report, so this needs no patch.
        return { ms: LANE_RECHECK_MS[Math.min(laneWaits++, LANE_RECHECK_MS.length - 1)], onLaneTurn: true, onRedeliver: 'look again' };
      case 'deferred':
        // another delivery is creating the external record this one must update: wait for it
        return { ms: DEFER_MS[Math.min(deferrals++, DEFER_MS.length - 1)], onLaneTurn: false };
      case 'throttled':
        // the target's rate limit holds every delivery to it
        return { ms: Math.max(1, report.waitMs), onLaneTurn: false };
      case 'held':
        // the target's circuit is open (decided in the activity): wait out its cool-down; an operator's
        // redeliver ends the wait with an attempt that passes the circuit
        return { ms: report.waitMs, onLaneTurn: false, onRedeliver: 'manual attempt' };
    }
  };

  for (;;) {
    if (cancelReason) return cancel(input.deliveryId, cancelReason);
    if (historyIsLong() && paths.has(CONTINUE_AS_NEW_PATCH)) {
      // between attempts, after a wait: the next run makes attempt + 1 with the same budget and backoff
      await condition(allHandlersFinished);
      if (cancelReason) return cancel(input.deliveryId, cancelReason);
      return continueAsNew<typeof deliveryWorkflowV3>({
        deliveryId: input.deliveryId,
        trigger: woken ? 'manual' : trigger,
        redelivery,
        resume: { attempt, budgetBase, infraFailures, deferrals, ...(laneWaits ? { laneWaits } : {}) },
      });
    }
    attempt += 1;
    let stored: StoredAttempt;
    try {
      const attemptInput = { deliveryId: input.deliveryId, attempt, trigger, redelivery, budgetBase };
      const report = paths.has(LOCAL_ATTEMPT_PATCH) ? await deliverAttemptLocally(attemptInput) : await deliverAttempt(attemptInput);
      infraFailures = 0;
      if (report.kind === 'closed') {
        finished = true;
        if (report.status === 'superseded') {
          upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: 'superseded' }]);
          statusShown = true;
        }
        return report.status;
      }
      if (isNotSent(report)) {
        const wait = notSentWait(report);
        // nothing was sent (lane, follow-up record, rate limit, circuit): a durable wait, not an attempt
        attempt -= 1;
        await condition(() => (wait.onLaneTurn && laneTurn) || (wait.onRedeliver !== undefined && woken) || cancelReason !== undefined, wait.ms);
        if (wait.onLaneTurn) laneTurn = false;
        if (wait.onRedeliver !== undefined) {
          if (woken && wait.onRedeliver === 'manual attempt') trigger = 'manual';
          woken = false;
        }
        continue;
      }
      deferrals = 0;
      stored = report.kind === 'recorded' ? report.stored : await recordAttempt(report.record);
    } catch (err) {
      if (isInfrastructureFailure(err)) {
        // nothing was sent: not an attempt; try again shortly
        attempt -= 1;
        await sleep(INFRA_RETRY_MS[Math.min(infraFailures++, INFRA_RETRY_MS.length - 1)]);
        continue;
      }
      if (isNotFoundFailure(err)) throw err;
      // the activity timed out or its worker died: the provider may or may not have been called. If the
      // activity wrote its attempt before it was lost, that record stands and tells where the delivery is.
      stored = await recordLostAttempt({ deliveryId: input.deliveryId, attempt, trigger, redelivery, budgetBase });
    }
    // every status is written, except a first-attempt success of a run started with quietSuccess (replay only)
    if (!(quiet && stored.status === 'success' && !statusShown)) {
      upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: stored.status }]);
      statusShown = true;
    }
    if (stored.status !== 'retrying') {
      if (woken && !cancelReason) {
        // an operator asked for another attempt while this one was finishing: honour it
        woken = false;
        trigger = 'manual';
        redelivery = stored.status === 'success';
        budgetBase = attempt;
        continue;
      }
      finished = true;
      return stored.status;
    }

    // a wake that arrived during the attempt is not lost: the wait ends at once
    await condition(() => woken || cancelReason !== undefined, stored.delayMs);
    trigger = woken ? 'manual' : 'scheduled';
    woken = false;
  }
}

/** An attempt report of an attempt that sent nothing and waits (none of them counts as an attempt). */
type NotSent = Extract<AttemptReport, { kind: 'waiting' | 'deferred' | 'throttled' | 'held' }>;

/** How a not-sent attempt waits: one timer of `ms`, ended early by a cancel and by what is set here. */
interface NotSentWait {
  ms: number;
  /** The delivery ahead in its lane has ended (laneTurnSignal). */
  onLaneTurn: boolean;
  /**
   * An operator's redeliver (kept for later when absent): `manual attempt` makes the next attempt manual (it
   * passes the target's circuit); `look again` only ends the wait.
   */
  onRedeliver?: 'manual attempt' | 'look again';
}

function isNotSent(report: AttemptReport): report is NotSent {
  return report.kind === 'waiting' || report.kind === 'deferred' || report.kind === 'throttled' || report.kind === 'held';
}

async function cancel(deliveryId: string, reason: string): Promise<FinalStatus> {
  await recordCancelled({ deliveryId, reason });
  upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: 'failed' }]);
  return 'failed';
}
