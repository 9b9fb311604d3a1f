// Rate limits per destination (keyed by the target key, src/targets/key.ts), shared by every worker
// through PostgreSQL (table target_limits): a configured limit spaces send slots 1/N s apart, and a learned block (a 429 or a provider's rate-limit
// answer) holds every delivery to that target until the window passes. See the README, "Rate limits per
// destination".
import type { DataSource } from 'typeorm';
import { RETRY_AFTER_CAP_MS } from '../../workflows/retry';

/** What the gate decided for one attempt. */
export type GateDecision =
  /** Send after `waitMs` (a reserved slot, at most `maxHoldMs` away): the activity waits in process. */
  | { kind: 'go'; waitMs: number; free?: boolean }
  /** Do not send: the workflow sleeps `waitMs` and tries again, without counting an attempt. */
  | { kind: 'throttled'; waitMs: number; reason: 'learned' | 'limit' };

/** The shared limits, as the attempt logic uses them. */
export interface TargetLimits {
  /** Reserves a send slot for `targetKey`, or says how long to wait when none is free within `maxHoldMs`. */
  acquire(targetKey: string, maxHoldMs: number): Promise<GateDecision>;
  /** Records that the target asked to slow down for `retryAfterMs` (answer status `status`). */
  learn(targetKey: string, retryAfterMs: number, status?: number): Promise<void>;
}

/**
 * Slots are spaced by this factor over 1/N s, so jitter of up to 10 % of a second between the slot and the
 * request reaching the target (a busy worker, a new connection) cannot put N + 1 requests in one second.
 */
export const SLOT_SPACING = 1.1;
/** A learned window when the answer named none (a bare 429). */
export const DEFAULT_LEARNED_MS = 1_000;
/** The shortest wait the gate hands back to the workflow. */
const MIN_WAIT_MS = 50;

/** The PostgreSQL-backed limits. */
export function targetLimits(ds: DataSource): TargetLimits {
  return {
    acquire: (key, maxHoldMs) =>
      ds.transaction(async (m) => {
        // database time throughout, so the workers' clocks do not matter; the row lock serialises reservations
        const rows: { per_second: number | null; blocked_ms: number | null; slot_ms: number | null }[] = await m.query(
          `SELECT per_second,
                  (extract(epoch FROM blocked_until - clock_timestamp()) * 1000)::float8 AS blocked_ms,
                  (extract(epoch FROM next_slot_at - clock_timestamp()) * 1000)::float8 AS slot_ms
           FROM target_limits WHERE target_key = $1 FOR UPDATE`,
          [key],
        );
        const row = rows[0];
        // free: nothing gates this target now (no row, or no limit and no learned block): the quiet-target cache may skip it
        if (!row) return { kind: 'go', waitMs: 0, free: true };
        if (row.blocked_ms !== null && row.blocked_ms > 0) {
          return { kind: 'throttled', waitMs: Math.max(MIN_WAIT_MS, Math.ceil(row.blocked_ms)), reason: 'learned' };
        }
        if (row.per_second === null) return { kind: 'go', waitMs: 0, free: true };
        const slotMs = Math.max(0, row.slot_ms ?? 0);
        if (slotMs > maxHoldMs) {
          // come back when the queue ahead is within the hold (others may have taken slots by then)
          return { kind: 'throttled', waitMs: Math.max(MIN_WAIT_MS, Math.ceil(slotMs - maxHoldMs / 2)), reason: 'limit' };
        }
        const spacingMs = (1000 * SLOT_SPACING) / row.per_second;
        await m.query(
          `UPDATE target_limits SET next_slot_at = clock_timestamp() + make_interval(secs => $2) WHERE target_key = $1`,
          [key, (slotMs + spacingMs) / 1000],
        );
        return { kind: 'go', waitMs: Math.ceil(slotMs) };
      }),
    learn: async (key, retryAfterMs, status) => {
      const ms = Math.min(Math.max(retryAfterMs, 0), RETRY_AFTER_CAP_MS);
      await ds.query(
        `INSERT INTO target_limits (target_key, blocked_until, learned_at, learned_status)
         VALUES ($1, clock_timestamp() + make_interval(secs => $2), clock_timestamp(), $3)
         ON CONFLICT (target_key) DO UPDATE SET
           blocked_until = GREATEST(COALESCE(target_limits.blocked_until, EXCLUDED.blocked_until), EXCLUDED.blocked_until),
           learned_at = EXCLUDED.learned_at, learned_status = EXCLUDED.learned_status, updated_at = now()`,
        [key, ms / 1000, status ?? null],
      );
    },
  };
}

/** True when an attempt's answer asks the target's senders to slow down; with the window to hold them. */
export function learnedWindowMs(result: { outcome: string; httpStatus?: number; retryAfterMs?: number; errorCode?: string }): number | undefined {
  if (result.outcome !== 'retryable') return undefined;
  const rateLimited = result.httpStatus === 429 || /rate_?limit/i.test(result.errorCode ?? '');
  if (result.retryAfterMs !== undefined && (rateLimited || result.httpStatus === 503)) return result.retryAfterMs;
  return rateLimited ? DEFAULT_LEARNED_MS : undefined;
}
