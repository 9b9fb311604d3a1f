import type { Logger } from '../logger';

/** What the watchdog reads of a Temporal Worker (the SDK's Worker fits). */
export interface WatchedWorker {
  getStatus(): { runState: string; workflowPollerState: string; activityPollerState: string };
  shutdown(): void;
}

/** How the watchdog judges a worker process (milliseconds). */
export interface WatchdogOptions {
  workers: WatchedWorker[];
  /** Resolves when Temporal answers (through the connection the pollers use); rejects otherwise. */
  probe: () => Promise<void>;
  logger: Logger;
  /** Temporal unanswered for this long (every probe failing) means the worker cannot work. */
  lostAfterMs: number;
  /** Once a stop has begun (fatal or asked for), the process exits after this long even if tasks are still in flight. */
  forceExitAfterMs: number;
  /** How often the state and Temporal are looked at. */
  everyMs?: number;
  /** How the process ends (a test may pass its own). */
  exit?: (code: number) => void;
}

/** A worker process's watchdog: `stopping()` marks a stop that was asked for; `fatal` is set once one was not. */
export interface Watchdog {
  /** Marks a stop asked for (a signal, the parent gone): not fatal, but still bounded by forceExitAfterMs. */
  stopping(): void;
  /** Why the worker cannot work, once the watchdog decided so. */
  readonly fatal?: string;
  stop(): void;
}

const STOPPED_STATES = new Set(['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED', 'FAILED']);

/**
 * Watches a worker process so that a worker that cannot work ends it with a non-zero code (a supervisor then
 * restarts it). Fatal: a Worker that leaves RUNNING without being asked (the SDK's "Initiating Worker shutdown"
 * after an unexpected error such as ERR_WORKER_OUT_OF_MEMORY), a poller that failed or shut down while its Worker
 * runs, or Temporal unanswered for `lostAfterMs` (the SDK retries polls on a lost connection forever). It then
 * shuts the workers down and exits 1 after `forceExitAfterMs`, whether or not in-flight tasks have finished.
 */
export function watchWorkers(opts: WatchdogOptions): Watchdog {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const everyMs = opts.everyMs ?? 1_000;
  let fatal: string | undefined;
  let asked = false;
  let lastAnswerAt = Date.now();
  let probing = false;
  let forceTimer: NodeJS.Timeout | undefined;

  const armForceExit = (code: number) => {
    forceTimer ??= setTimeout(() => {
      opts.logger.error({ forceExitAfterMs: opts.forceExitAfterMs, fatal }, 'worker did not stop in time; exiting');
      exit(code);
    }, opts.forceExitAfterMs);
  };

  const fail = (reason: string) => {
    if (fatal || asked) return;
    fatal = reason;
    opts.logger.error({ reason }, 'worker cannot work; stopping the process (exit code 1)');
    for (const w of opts.workers) {
      try {
        if (w.getStatus().runState === 'RUNNING') w.shutdown();
      } catch {
        // already stopping
      }
    }
    armForceExit(1);
  };

  const tick = () => {
    if (asked || fatal) return;
    for (const w of opts.workers) {
      const s = w.getStatus();
      if (STOPPED_STATES.has(s.runState)) return fail(`a worker left RUNNING (${s.runState}) without being asked`);
      if (s.runState === 'RUNNING' && (s.workflowPollerState !== 'POLLING' || s.activityPollerState !== 'POLLING')) {
        return fail(`a poller stopped (workflow ${s.workflowPollerState}, activity ${s.activityPollerState})`);
      }
    }
    if (!probing) {
      probing = true;
      opts.probe().then(
        () => {
          lastAnswerAt = Date.now();
        },
        () => undefined,
      ).finally(() => {
        probing = false;
        const silentMs = Date.now() - lastAnswerAt;
        if (silentMs >= opts.lostAfterMs) fail(`Temporal has not answered for ${Math.round(silentMs / 1000)} s`);
      });
    }
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();

  return {
    stopping() {
      if (asked || fatal) return;
      asked = true;
      // a requested stop that hangs (an activity that ignores cancellation) still ends; 1: it was not clean
      armForceExit(1);
    },
    get fatal() {
      return fatal;
    },
    stop() {
      clearInterval(timer);
      if (forceTimer) clearTimeout(forceTimer);
    },
  };
}
