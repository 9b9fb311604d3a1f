import { Connection } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { workerExecArgv } from '../worker/heap';
import { startEmbeddedPostgres, type EmbeddedPg } from '../dev/embedded-postgres';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../dev/temporal-dev-server';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { devSecrets, supervise } from './launcher';
import { exitOnStartupError } from './shutdown';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');
const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);

/**
 * The embedded stack in one command: a Temporal dev server (SQLite file) and PostgreSQL unless
 * TEMPORAL_ADDRESS / DATABASE_URL point elsewhere, then the API and a worker as child processes.
 * Ctrl-C stops everything; data under DATA_DIR survives restarts.
 */
async function main(): Promise<void> {
  const env = { ...process.env };
  const dataDir = path.resolve(PROJECT_ROOT, env.DATA_DIR ?? '.data');
  fs.mkdirSync(dataDir, { recursive: true });
  Object.assign(env, devSecrets(dataDir, env), { DATA_DIR: dataDir });
  const config = loadConfig(env);

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => say(`stop failed: ${(e as Error).message}`));
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    stopAll().then(() => process.exit(0));
  };
  // This launcher stops everything itself, in order (API, worker, Temporal, PostgreSQL), on SIGINT and SIGTERM.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let pg: EmbeddedPg | undefined;
    if (!config.databaseUrl) {
      pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: config.embeddedPgPort });
      stops.push(() => pg!.stop());
      env.DATABASE_URL = pg.url;
      say(`PostgreSQL (embedded) on 127.0.0.1:${pg.port}, data in ${pg.dataDir}`);
    }
    let temporal: TemporalDevServer | undefined;
    if (!config.temporal.address) {
      const binary = ensureTemporalCli(PROJECT_ROOT, say);
      temporal = await startTemporalDevServer({
        binary,
        dbFile: path.join(dataDir, 'temporal.db'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        nice: config.deliveryNice,
      });
      stops.push(() => temporal!.stop());
      env.TEMPORAL_ADDRESS = temporal.address;
      env.TEMPORAL_UI_URL = env.TEMPORAL_UI_URL || temporal.uiUrl;
      say(`Temporal dev server on ${temporal.address}, state in ${path.join(dataDir, 'temporal.db')}`);
    }
    const conn = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
    await ensureSearchAttributes(conn, config.temporal.namespace);
    await conn.close();

    for (const name of ['worker', 'api'] as const) {
      // the worker's main thread gets WORKER_HEAP_MB as its heap limit too (its workflow threads get it at start)
      const child = supervise(name, path.join(__dirname, `${name}.js`), env, () => stopping, say, name === 'worker' ? workerExecArgv(config.workerHeapMb) : []);
      stops.push(() => child.stop());
    }
    say(`API:          http://localhost:${config.port}  (readiness: http://localhost:${config.port}/readyz)`);
    say(`Admin UI:     http://localhost:${config.port}/ui/  (sign in with the admin token)`);
    say(`Temporal Web: ${env.TEMPORAL_UI_URL}`);
    say(`Admin token:  in ${path.join(dataDir, 'dev-secrets.json')} (or set ADMIN_TOKEN)`);
    say('Press Ctrl-C to stop.');
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch(exitOnStartupError);
