import type { Logger } from '../logger';

/** Runs `stop` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals | 'parent gone') => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: (err as Error).message }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  whenParentGone(() => handler('parent gone'));
}

/**
 * For a process forked with an IPC channel (by `npm start`'s launcher or a test harness): calls `cb` once
 * the parent is gone, even one killed outright, so that no orphaned API or worker lives on (an orphaned
 * worker would take tasks from the next stack's queue with the wrong keys). A no-op without a channel.
 */
export function whenParentGone(cb: () => void): void {
  if (!process.send) return;
  if (!process.connected) cb();
  else process.once('disconnect', cb);
}

/** Reports a start-up failure on stderr (a ConfigError lists the variables) and exits 1. */
export function exitOnStartupError(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
