// The attempt's side of the rate limits per destination: wait for a send slot (or hand the wait back to
// the workflow) before the provider call, and learn from a rate-limit answer after it.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { safeErrorMessage } from '../providers/shared/sanitise';
import type { Logger } from '../src/logger';
import { INFRASTRUCTURE_FAILURE, type AttemptResult } from '../workflows/types';
import { learnedWindowMs, type TargetLimits } from '../src/targets/rate-limits';

/** Nothing sent: the target's limit holds the attempt for `waitMs` (only deliveryWorkflowV2 handles it). */
export interface Throttled {
  outcome: 'throttled';
  waitMs: number;
}

/** A reserved slot at most this far away is waited for inside the activity; a later one goes back to the workflow. */
const MAX_HOLD_MS = 1_000;

/**
 * Waits for the target's next send slot; returns a `throttled` result (nothing sent) when the target is
 * blocked or its queue is longer than MAX_HOLD_MS. A database failure is an `Infrastructure` failure.
 */
export async function passGate(limits: TargetLimits, key: string): Promise<Throttled | undefined> {
  let decision;
  try {
    decision = await limits.acquire(key, MAX_HOLD_MS);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`could not check the target's rate limit: ${safeErrorMessage(err)}`, INFRASTRUCTURE_FAILURE);
  }
  if (decision.kind === 'throttled') return { outcome: 'throttled', waitMs: decision.waitMs };
  if (decision.waitMs > 0) {
    Context.current().heartbeat();
    await new Promise((resolve) => setTimeout(resolve, decision.waitMs));
  }
  return undefined;
}

/** Holds every delivery to the target when the answer was a rate-limit one (best effort: logged, never fails the attempt). */
export async function learnFrom(limits: TargetLimits, key: string, result: AttemptResult, logger: Logger): Promise<void> {
  const windowMs = learnedWindowMs(result);
  if (windowMs === undefined) return;
  try {
    await limits.learn(key, windowMs, result.httpStatus);
  } catch (err) {
    logger.warn({ targetKey: key, err: safeErrorMessage(err) }, 'could not record the target rate limit');
  }
}
