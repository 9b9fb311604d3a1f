// Pure retry arithmetic for the delivery workflow: deterministic given the random number passed in.

/** The default schedule: an immediate try, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
const DEFAULT_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** Jitter spreads retries of many deliveries: each delay is scaled by a factor in [1 - J, 1 + J]. */
const JITTER_RATIO = 0.2;
/** A receiver's Retry-After is honoured up to this long. */
export const RETRY_AFTER_CAP_MS = 6 * 3_600_000;

export type RetryPolicyInput =
  | { maxAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maxIntervalMs: number }
  | { scheduleMs: number[] };

/** Expands a subscription's retry policy into the delays before retry 1, 2, ... (milliseconds). */
export function scheduleFromPolicy(policy: RetryPolicyInput | null | undefined): number[] {
  if (!policy) return DEFAULT_SCHEDULE_MS;
  if ('scheduleMs' in policy) return policy.scheduleMs;
  const delays: number[] = [];
  for (let i = 0; i < policy.maxAttempts - 1; i++) {
    delays.push(Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** i, policy.maxIntervalMs));
  }
  return delays;
}

/**
 * The wait before the retry that follows attempt `attempt` (1-based): the scheduled delay with jitter,
 * or the receiver's Retry-After hint when that is later (capped). `random` is in [0, 1).
 */
export function nextDelayMs(scheduleMs: number[], attempt: number, random: number, retryAfterMs?: number): number {
  const base = scheduleMs[Math.min(attempt - 1, scheduleMs.length - 1)] ?? 0;
  const jittered = Math.round(base * (1 - JITTER_RATIO + 2 * JITTER_RATIO * random));
  const hint = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, RETRY_AFTER_CAP_MS);
  return Math.max(jittered, hint);
}

/**
 * The status an attempt leaves its delivery in: `success`, `retrying` while the budget (`budgetBase` plus
 * the schedule's length plus one) has room for a retryable failure, else `failed`; and the wait before the
 * next attempt.
 */
export function decideAfterAttempt(
  outcome: 'success' | 'retryable' | 'permanent',
  attempt: number,
  budgetBase: number,
  scheduleMs: number[],
  random: number,
  retryAfterMs?: number,
): { status: 'success' | 'retrying' | 'failed'; delayMs: number } {
  if (outcome === 'success') return { status: 'success', delayMs: 0 };
  if (outcome === 'retryable' && attempt < budgetBase + scheduleMs.length + 1) {
    return { status: 'retrying', delayMs: nextDelayMs(scheduleMs, attempt, random, retryAfterMs) };
  }
  return { status: 'failed', delayMs: 0 };
}
