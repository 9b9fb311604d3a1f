import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setNice } from '../priority';

/**
 * What the dev server is started with beyond its defaults (measured in bench/, see docs/benchmarks.md):
 * - SQLite in WAL mode with synchronous=NORMAL: a commit no longer waits for its own fsync. A crash of the
 *   process loses nothing; a power cut can lose the last commits (the dev server is not the production
 *   set-up: docker-compose runs Temporal on PostgreSQL).
 * - Eager activity execution: a workflow task that schedules an activity gets it back in the same reply
 *   when this worker has a free slot, saving a trip through the matching service per attempt.
 * - The history service's transfer queue reads new tasks up to 200 times a second instead of 20. Its reader
 *   waits for that rate limit before each read, per shard, and the dev server has one shard: at 20 events/s a
 *   new workflow's first task waited 15-35 ms (mean) to be read and handed to matching, the largest share of
 *   an event's way to its receiver. With 200: 2-3 ms (docs/DESIGN.md decision 20).
 * `TEMPORAL_DEV_TUNING=off` starts it without them (to measure what they buy).
 */
const DEV_SERVER_TUNING = {
  sqlitePragmas: { journal_mode: 'wal', synchronous: 'normal' },
  dynamicConfig: { 'system.enableActivityEagerExecution': true, 'history.transferProcessorMaxPollRPS': 200 },
} as const;

/**
 * How long an idle poll waits on the server before it is answered empty and polled again (Temporal's default is
 * 60 s): short, so the pollers' last-access times that `/readyz` reads are never older than this when a worker
 * polls (docs/operations.md "Readiness and a worker that cannot work"). docker-compose sets the same in its dynamic config.
 */
const LONG_POLL_EXPIRATION = '15s';

/** A running `temporal server start-dev`. */
export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  pid?: number;
  stop(): Promise<void>;
}

/**
 * Starts the Temporal CLI's dev server with its state in a SQLite file (kept across restarts)
 * and waits until its frontend answers. Stop sends SIGTERM, then SIGKILL after 10 s.
 */
export async function startTemporalDevServer(options: {
  binary: string;
  dbFile: string;
  port: number;
  uiPort: number;
  namespace: string;
  headless?: boolean;
  onLog?: (line: string) => void;
  readyTimeoutMs?: number;
  /** Nice value for all its threads (DELIVERY_NICE); none: inherited. */
  nice?: number;
  /** Further dynamic config values (e.g. a lower `limit.historyCount.suggestContinueAsNew`). */
  dynamicConfig?: Record<string, unknown>;
}): Promise<TemporalDevServer> {
  fs.mkdirSync(path.dirname(path.resolve(options.dbFile)), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', path.resolve(options.dbFile),
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--namespace', options.namespace,
    '--log-level', 'warn',
  ];
  if (process.env.TEMPORAL_DEV_TUNING !== 'off') {
    for (const [k, v] of Object.entries(DEV_SERVER_TUNING.sqlitePragmas)) args.push('--sqlite-pragma', `${k}=${v}`);
    for (const [k, v] of Object.entries(DEV_SERVER_TUNING.dynamicConfig)) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  }
  // not tuning: readiness reads pollers' last poll times, which an idle poller refreshes once per long poll
  args.push('--dynamic-config-value', `matching.longPollExpirationInterval=${JSON.stringify(LONG_POLL_EXPIRATION)}`);
  for (const [k, v] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  // DELIVERY_NICE (src/priority.ts): its threads so far now, the ones they start inherit it
  if (options.nice && child.pid) setNice(options.nice, child.pid);
  // the last lines it printed, for the error when it does not start
  const recent: string[] = [];
  const log = (chunk: string) => {
    for (const line of chunk.split('\n').map((l) => l.trimEnd()).filter(Boolean)) {
      recent.push(line);
      if (recent.length > 6) recent.shift();
      options.onLog?.(line);
    }
  };
  child.stdout?.on('data', (d: Buffer) => log(d.toString()));
  child.stderr?.on('data', (d: Buffer) => log(d.toString()));
  // a binary that cannot be run (missing, not executable) is an 'error', not an exit
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const address = `127.0.0.1:${options.port}`;
  try {
    await waitForFrontend(child, address, options.readyTimeoutMs ?? 60_000, () => spawnError);
  } catch (err) {
    if (!spawnError) await stopChild(child);
    const said = recent.length ? `; it said: ${recent.join(' | ')}` : '';
    throw new Error(`Temporal dev server (${options.binary}) did not start on ${address}: ${(err as Error).message}${said}`);
  }
  return {
    address,
    uiUrl: `http://localhost:${options.uiPort}`,
    pid: child.pid,
    stop: () => stopChild(child),
  };
}

/** Waits until a Temporal frontend answers on `address`; throws when the child exits or could not be spawned. */
export async function waitForFrontend(
  child: ChildProcess,
  address: string,
  timeoutMs: number,
  spawnError: () => Error | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const failed = spawnError();
    if (failed) throw failed;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.signalCode ?? `exit code ${child.exitCode}`})`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`no answer within ${timeoutMs} ms: ${String(lastError)}`);
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
