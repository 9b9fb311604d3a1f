import { sanitise } from '../shared/sanitise';
import type { DeliveryOutcome } from '../types';
import type { SandboxResult } from './protocol';

/** Longest retry hint a script may give: a day. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Limits a run was held to, for readable messages. */
export interface RunLimits {
  timeoutMs: number;
  memoryLimitMb: number;
}

/**
 * How a script run becomes a delivery outcome:
 * - returned: success (a string, a number or `{externalId}` is the external id);
 * - threw PermanentError (or anything with `permanent: true`, e.g. a FetchError for a refused address):
 *   permanent, pausing the subscription when thrown with `{pauseSubscription: true}`;
 * - threw anything else (Error, RetryableError, a rejected promise): retryable, `retryAfterMs` honoured;
 * - top-level code threw, no `deliver`, ran out of memory or stack, computed past its deadline, or a
 *   promise that can never settle: permanent (the same script would do the same again);
 * - timed out while waiting for a fetch, or the sandbox itself failed: retryable.
 */
export function outcomeFromRun(run: SandboxResult, limits: RunLimits, secrets: string[]): DeliveryOutcome {
  const log = run.log ? { log: run.log } : {};
  const clean = (text: string) => sanitise(text, secrets);
  switch (run.kind) {
    case 'returned': {
      const note = run.externalIdTruncated ? `${run.log ? '\n' : ''}[hub] the returned externalId was cut to 200 characters` : '';
      return { kind: 'success', ...(run.externalId ? { externalId: run.externalId } : {}), ...(run.log || note ? { log: run.log + note } : {}) };
    }
    case 'threw': {
      const where = run.line !== undefined ? ` (line ${run.line})` : '';
      if (run.phase === 'load') {
        return { kind: 'permanent', errorCode: 'script_load_error', error: clean(`The script's top-level code threw ${run.name}: ${run.message}${where}`), ...log };
      }
      const code = run.code && /^[a-z][a-z0-9_]{0,59}$/.test(run.code) ? run.code : 'script_error';
      const error = clean(`${run.name}: ${run.message}${where}`);
      if (run.permanent) {
        return { kind: 'permanent', errorCode: code, error, ...(run.pauseSubscription ? { pauseReason: clean(`The script asked to pause: ${run.message}`) } : {}), ...log };
      }
      const retryAfterMs = run.retryAfterMs !== undefined ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(run.retryAfterMs))) : undefined;
      return { kind: 'retryable', errorCode: code, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...log };
    }
    case 'no-deliver':
      return { kind: 'permanent', errorCode: 'invalid_script', error: 'The script does not define a function deliver(event, ctx)', ...log };
    case 'timeout':
      return run.waiting
        ? { kind: 'retryable', errorCode: 'script_timeout', error: `The script was still waiting for fetch after ${limits.timeoutMs} ms and was stopped`, ...log }
        : { kind: 'permanent', errorCode: 'script_timeout', error: `The script computed for more than ${limits.timeoutMs} ms and was stopped (a loop that never ends?)`, ...log };
    case 'killed':
      return { kind: 'permanent', errorCode: 'script_timeout', error: `The script did not stop at its ${limits.timeoutMs} ms limit; its sandbox was terminated` };
    case 'memory':
      return { kind: 'permanent', errorCode: 'script_memory', error: `The script needed more than ${limits.memoryLimitMb} MiB of memory and was stopped`, ...log };
    case 'stack':
      return { kind: 'permanent', errorCode: 'script_stack_overflow', error: 'The script overflowed its stack (recursion too deep?) and was stopped', ...log };
    case 'never-settled':
      return { kind: 'permanent', errorCode: 'script_never_settled', error: 'deliver() returned a promise that nothing can settle (an await on a promise never resolved?)', ...log };
    case 'crashed':
      return { kind: 'retryable', errorCode: 'sandbox_error', error: clean(`The script sandbox failed: ${run.message}`), ...log };
  }
}
