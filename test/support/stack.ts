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
  await Promise.all([s.temporal.stop(), s.pg.stop()]);
  fs.rmSync(s.tmpDir, { recursive: true, force: true });
}
