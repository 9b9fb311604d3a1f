import { Client, Connection } from '@temporalio/client';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config';
import { openDatabase } from '../database/open';
import { createLogger } from '../logger';
import { providersWithPlugins } from '../providers';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ensureRetentionSchedule } from '../temporal/retention-schedule';
import { buildBackgroundWorker, buildWorker, installTemporalRuntime, workerHubEvents } from '../worker';
import { DeliveryMetrics } from '../metrics/deliveries';
import { serveMetrics } from '../metrics/server';
import { registerWorkerStatusGauges } from '../metrics/worker-status';
import { installTracing } from '../telemetry/tracing';
import { exitOnStartupError, whenParentGone } from './shutdown';
import { watchWorkers } from '../worker/watchdog';
import { QuietTargets } from '../targets/quiet';
import { boundNewHeaps, mainHeapLimitMb } from '../worker/heap';
import { setNice } from '../priority';

/** The worker process: runs delivery workflows and their activities until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'worker');
  // ingest first on a shared machine: this process's threads, and every thread they start, at DELIVERY_NICE
  if (config.deliveryNice > 0) setNice(config.deliveryNice);
  const tracing = installTracing({ serviceName: 'integrations-hub-worker', otlpEndpoint: config.otlpEndpoint });
  installTemporalRuntime(logger);
  if (!config.databaseUrl || !config.temporal.address) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set (or run `npm start` for the embedded stack)');
  }
  const dataSource = await openDatabase(config.databaseUrl, logger, { applicationName: 'integrations-hub-worker', preparedStatements: config.preparedStatements });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const added = await ensureSearchAttributes(clientConnection, config.temporal.namespace);
  if (added.length) logger.info({ added }, 'search attributes registered');
  // kept open: the hub's own events (hub.*) start their deliveries from the worker
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  await ensureRetentionSchedule(
    client,
    { taskQueue: config.temporal.taskQueue, cron: config.retention.schedule },
    logger,
  );
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const { registry: providers, plugins } = providersWithPlugins(config, dataSource, logger);
  await plugins.start(config.databaseUrl);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = new DeliveryMetrics(registry);
  const metricsServer = config.workerMetricsPort === undefined ? undefined : await serveMetrics(registry, config.workerMetricsPort);
  if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics at /metrics');
  plugins.useHubEvents(workerHubEvents({ config, dataSource, logger, client, providers }));
  // targets with no limit and a closed circuit skip those statements, told of changes by LISTEN/NOTIFY
  const quietTargets = config.targetCacheTtlMs > 0 ? new QuietTargets(config.databaseUrl, logger, config.targetCacheTtlMs) : undefined;
  await quietTargets?.start();
  // before the Workers: their workflow threads' heaps are set up with this bound
  boundNewHeaps(config.workerHeapMb);
  if (mainHeapLimitMb() > config.workerHeapMb * 1.5) {
    logger.warn({ mainHeapLimitMb: mainHeapLimitMb(), workerHeapMb: config.workerHeapMb }, 'the main thread heap is not bounded by WORKER_HEAP_MB: start the worker with node --max-old-space-size (NODE_OPTIONS)');
  }
  const worker = await buildWorker({ config, connection, dataSource, logger, providers, metrics, client, quietTargets });
  // recoveries and replays: their own queue and few slots, never the delivery slots
  const background = await buildBackgroundWorker({ config, connection, dataSource, logger });
  const workers = [worker, background];
  registerWorkerStatusGauges(registry, { [config.temporal.taskQueue]: worker, [config.background.taskQueue]: background });
  const watchdog = watchWorkers({
    workers,
    probe: async () => {
      await connection.withDeadline(Date.now() + PROBE_DEADLINE_MS, () => connection.workflowService.getSystemInfo({}));
    },
    logger,
    lostAfterMs: config.workerWatchdog.temporalLostAfterMs,
    forceExitAfterMs: config.workerWatchdog.forceExitMs,
  });
  logger.info({ taskQueue: config.temporal.taskQueue, backgroundTaskQueue: config.background.taskQueue, nice: config.deliveryNice }, 'worker running');
  // the SDK stops the workers on SIGINT/SIGTERM; the watchdog must know that stop was asked for
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => watchdog.stopping());
  whenParentGone(() =>
    setImmediate(() => {
      logger.info({ signal: 'parent gone' }, 'shutting down');
      watchdog.stopping();
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    }),
  );
  // resolves after SIGINT/SIGTERM (the SDK's default shutdown signals) or the parent's end, once in-flight tasks finish;
  // rejects on a fatal worker error (the SDK has then stopped the worker): the process exits 1 for its supervisor
  try {
    // one failing ends the process; the watchdog stops the other (it left RUNNING unasked)
    await Promise.all(workers.map((w) => w.run()));
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'worker cannot work; Worker failed');
    process.exit(1);
  }
  if (watchdog.fatal) process.exit(1);
  await metricsServer?.close();
  await quietTargets?.stop();
  await connection.close();
  await clientConnection.close();
  await plugins.stop();
  await dataSource.destroy();
  await tracing.shutdown();
  logger.info('worker stopped');
}

/** How long one look at Temporal from the watchdog may take. */
const PROBE_DEADLINE_MS = 5_000;

// once stopped, exit: a channel to the parent (a forked worker) would otherwise keep the process alive until it is killed
main().then(() => process.exit(0), exitOnStartupError);
