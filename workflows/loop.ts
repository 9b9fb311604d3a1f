// What both delivery workflows (V2 and the V1 kept for open runs) share: activity options, the waits of
// their loop, and how they tell an attempt that could not start. Imports only @temporalio/workflow and the
// pure ./types, so the bench's bare baseline uses the same options.
import { ActivityFailure, ApplicationFailure, workflowInfo, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { CLOSING_FAILURE, INFRASTRUCTURE_FAILURE, NOT_FOUND_FAILURE } from './types';

/**
 * The provider call runs once per activity: the workflow owns the retry loop (docs/DESIGN.md decision 1). It
 * heartbeats while the provider works, so an attempt lost with its worker is noticed in seconds, not minutes.
 */
export const ATTEMPT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { maximumAttempts: 1 },
};

/**
 * The same attempt as a local activity (docs/DESIGN.md decision 15): run by the worker inside the workflow task
 * that schedules it, so a successful delivery takes one workflow task and no activity task. No heartbeat: a
 * worker lost mid-attempt shows as the workflow task timing out, and the attempt run again finds its own mark
 * (DeliveryLog.mark) and is logged as lost. An attempt longer than the workflow task timeout keeps that task
 * alive (the SDK completes it with a heartbeat and goes on).
 */
export const LOCAL_ATTEMPT_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 1 },
};

/** Database writes keep Temporal's unlimited retries: an outage delays the log, never loses it. */
export const DB_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/** Waits before retrying an attempt that could not start (e.g. the database was unreachable). */
export const INFRA_RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/** Waits of a follow-up whose external record is still being created by another delivery. */
export const DEFER_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000];
/**
 * How long a delivery waiting in its lane waits before it looks again without being told: the delivery ahead
 * signals its end (`laneTurnSignal`), so these only bound a wait whose signal was lost.
 */
export const LANE_RECHECK_MS = [5_000, 15_000, 60_000, 300_000];

/**
 * The type of the ApplicationFailure an activity threw: an activity's comes wrapped in an ActivityFailure, a
 * local activity's (the attempt since decision 15) as it was thrown.
 */
function thrownType(err: unknown): string | undefined | null {
  const thrown = err instanceof ActivityFailure ? err.cause : err;
  return thrown instanceof ApplicationFailure ? thrown.type : undefined;
}

/** Activities throw `Infrastructure` when they could not even load the delivery (nothing was sent). */
export function isInfrastructureFailure(err: unknown): boolean {
  return thrownType(err) === INFRASTRUCTURE_FAILURE;
}


/** True when an activity reported that the delivery row does not exist. */
export function isNotFoundFailure(err: unknown): boolean {
  return thrownType(err) === NOT_FOUND_FAILURE;
}

/** How a delivery workflow ends when its row is gone: failed, with the reason as its failure. */
export function deliveryGone(deliveryId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `Delivery ${deliveryId} does not exist (deleted or purged from the log): nothing more is sent and this run ends`,
    NOT_FOUND_FAILURE,
  );
}


/** Rejects an update in its validator (so it never reaches the history) with a readable reason. */
export function rejectUpdate(reason: string): never {
  throw ApplicationFailure.nonRetryable(reason, CLOSING_FAILURE);
}

/** A run continues as new past this many events even when the server has not suggested it yet. */
const MAX_RUN_HISTORY_EVENTS = 4_000;

/** True when this run's history is long enough that the loop should go on in a new run (see continueAsNew). */
export function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= MAX_RUN_HISTORY_EVENTS;
}
