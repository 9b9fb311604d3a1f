import { Client, Connection } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/dev/embedded-postgres';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { freePort } from './ports';

/** One real PostgreSQL and one real Temporal dev server per test run, started on first use. */
export interface TestStack {
  pg: EmbeddedPg;
  temporal: TemporalDevServer;
  client: Client;
  connection: Connection;
  tmpDir: string;
  /** A fresh, migrated-on-demand database for one suite. */
  createDatabase(name: string): Promise<string>;
}

export const PROJECT_ROOT = path.resolve(__dirname, '../../..');
let stack: Promise<TestStack> | undefined;

/** How the stack's Temporal is started; only the first getStack() call of a process decides it. */
export interface StackOptions {
  /** Extra dynamic config of the dev server (the history recorder lowers the continue-as-new threshold). */
  temporalDynamicConfig?: Record<string, unknown>;
}

/** Starts (once) and returns the shared stack. */
export function getStack(options: StackOptions = {}): Promise<TestStack> {
  stack ??= startStack(options);
  return stack;
}

async function startStack(options: StackOptions): Promise<TestStack> {
  // postgres runs as its own user when we are root: the folder must be reachable by it
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-test-'));
  fs.chmodSync(tmpDir, 0o755);
  const [pgPort, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const [pgStart, temporalStart] = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: path.join(tmpDir, 'pg'), port: pgPort }),
    // in an async function, so a missing CLI (ensureTemporalCli throws) is a rejection allSettled reports
    (async () =>
      startTemporalDevServer({
        binary: ensureTemporalCli(PROJECT_ROOT),
        dbFile: path.join(tmpDir, 'temporal.db'),
        port: temporalPort,
        uiPort,
        namespace: 'default',
        headless: true,
        dynamicConfig: options.temporalDynamicConfig,
      }))(),
  ]);
  if (pgStart.status === 'rejected' || temporalStart.status === 'rejected') {
    // stop the half that did start, so nothing keeps the run alive, and say why the other did not
    await Promise.all([pgStart, temporalStart].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    fs.rmSync(tmpDir, { recursive: true, force: true });
    const reasons = [pgStart, temporalStart].flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason)] : []));
    throw new Error(`the test stack (PostgreSQL + Temporal) did not start: ${reasons.join('; ')}`);
  }
  const [pg, temporal] = [pgStart.value, temporalStart.value];
  const connection = await Connection.connect({ address: temporal.address });
  await ensureSearchAttributes(connection, 'default');
  const client = new Client({ connection, namespace: 'default' });
  return {
    pg,
    temporal,
    client,
    connection,
    tmpDir,
    async createDatabase(rawName: string) {
      // suite names may carry '-' or capitals; database names here are plain identifiers
      const name = rawName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const admin = new PgClient({ connectionString: pg.url });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return pg.url.replace(/\/[^/]+$/, `/${name}`);
    },
  };
}

/** Stops the shared stack if it was started. */
export async function stopStack(): Promise<void> {
  if (!stack) return;
  const started = stack;
  stack = undefined;
  const s = await started.catch(() => undefined); // a failed start stopped its own parts
  if (!s) return;
  await s.connection.close();
  // each stop sends SIGKILL after 10 s; a process stuck in the kernel (a loaded disk) can outlast even that, and
  // the root hook's 60 s timeout then failed a run whose every test had passed: wait 40 s, then say which one is
  // still running and go on (the process exits right after the hooks; PostgreSQL is killed on exit as well)
  const t0 = Date.now();
  const parts = { temporal: s.temporal.stop(), postgres: s.pg.stop() };
  const stopped = new Set<string>();
  for (const [name, p] of Object.entries(parts)) {
    void p.then(() => {
      stopped.add(name);
      if (Date.now() - t0 > 5_000) process.stderr.write(`[stack] ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s to stop\n`);
    });
  }
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    Promise.all(Object.values(parts)).then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!inTime) {
    const running = Object.keys(parts).filter((n) => !stopped.has(n));
    process.stderr.write(`[stack] ${running.join(' and ')} did not stop within ${STOP_WAIT_MS / 1000} s of SIGTERM (SIGKILL after 10 s); leaving ${s.tmpDir}\n`);
    return;
  }
  // asynchronous, and not waited for past the hook: the whole run's databases can be large on a slow disk
  const removed = fs.promises.rm(s.tmpDir, { recursive: true, force: true });
  const late = await Promise.race([removed.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 10_000)))]);
  clearTimeout(timer);
  if (late) process.stderr.write(`[stack] ${s.tmpDir} is still being removed after 10 s\n`);
}

/** How long stopStack waits for the Temporal dev server and PostgreSQL to exit. */
const STOP_WAIT_MS = 40_000;
