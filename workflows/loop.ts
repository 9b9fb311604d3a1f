// What both delivery workflows (V2 and the V1 kept for open runs) share: activity options, the waits of
// their loop, and how they tell an attempt that could not start. Imports only @temporalio/workflow, so the
// bench's bare baseline uses the same options.
import { ActivityFailure, ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';

/**
 * The provider call runs once per activity: the workflow owns the retry loop (docs/DESIGN.md decision 1). It
 * heartbeats while the provider works, so an attempt lost with its worker is noticed in seconds, not minutes.
 */
export const ATTEMPT_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
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

/** Activities throw `Infrastructure` when they could not even load the delivery (nothing was sent). */
export function isInfrastructureFailure(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'Infrastructure';
}
