import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { activityStores, createActivities } from '../../activities';
import { Circuits } from '../targets/circuits';
import { HubEvents } from '../catalogue/hub-events';
import { TargetHealth } from '../targets/health';
import { EventCatalogue } from '../catalogue/store';
import { IngestService } from '../ingest/service';
import { DeliveryWorkflows } from '../temporal/deliveries';
import { Pace } from '../../activities/pace';
import { createRecoveryActivities } from '../../activities/recovery';
import { createRetentionActivities } from '../../activities/retention';
import { RetentionPurger } from '../deliveries/retention';
import { RecoveryStore } from '../deliveries/recoveries';
import { createReplayActivities } from '../../activities/replay';
import { ReplayStore } from '../deliveries/replays';
import { providersFor } from '../providers';
import type { ProviderRegistry } from '../../providers/registry';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createSecretBox } from '../secrets/crypto';
import { outboundClient } from '../outbound';
import type { DeliveryMetrics } from '../metrics/deliveries';
import { WORKFLOW_BUNDLES, workerTracing } from '../temporal/tracing';
import { QuietCircuits, quietLimits, type QuietTargets } from '../targets/quiet';

/**
 * The prebuilt bundle from `npm run build`, with the OpenTelemetry workflow interceptors only when `traced`
 * (an OTLP endpoint is configured); bundling at start-up is the slow fallback.
 */
export function workflowSource(traced = false): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = path.resolve(__dirname, '../..', traced ? WORKFLOW_BUNDLES.traced : WORKFLOW_BUNDLES.plain);
  if (fs.existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: require.resolve('../../workflows') };
}

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own logs (worker state changes, task failures) into our logger,
 * warnings and up only. Must run before the first worker or native connection is made; once per process.
 */
export function installTemporalRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error',
  };
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => logger[levels[entry.level]]({ ...entry.meta, temporal: true }, entry.message)),
  });
}

/** A worker for delivery workflows with its activities built over real dependencies. */
export async function buildWorker(opts: {
  config: Config;
  connection: NativeConnection;
  dataSource: DataSource;
  logger: Logger;
  providers?: ProviderRegistry;
  /** Where attempt and delivery metrics go (absent: not measured). */
  metrics?: DeliveryMetrics;
  /** Starts the deliveries of the hub's own events (without it the reconciler starts them). */
  client?: Client;
  /** Targets known to have no limit and a closed circuit (absent: every attempt runs the gate statements). */
  quietTargets?: QuietTargets;
}): Promise<Worker> {
  const { config } = opts;
  return Worker.create(workerOptions(opts, config));
}

/**
 * The Worker of the background task queue (`config.background.taskQueue`): bulk recoveries and replays, with
 * their own few activity slots so they never take the delivery slots of the main Worker. It registers the same
 * workflows; only their activities run here (their delivery workflows run on the main queue).
 */
export async function buildBackgroundWorker(opts: { config: Config; connection: NativeConnection; dataSource: DataSource; logger: Logger }): Promise<Worker> {
  const { config } = opts;
  const traced = config.otlpEndpoint !== undefined;
  const source = workflowSource(traced);
  return Worker.create({
    connection: opts.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.background.taskQueue,
    ...source,
    ...workerTracing('workflowBundle' in source, traced),
    activities: backgroundActivities(opts),
    maxConcurrentActivityTaskExecutions: config.background.workerMaxActivities,
    maxConcurrentWorkflowTaskExecutions: Math.max(2, config.background.workerMaxActivities),
    // job workflows wake once per batch: few need to stay in memory
    maxCachedWorkflows: Math.max(BACKGROUND_MAX_CACHED_WORKFLOWS, 2 * config.background.workerMaxActivities),
    // a stopped batch activity ends at its next look at its cancellation (it heartbeats between requests)
    shutdownGraceTime: '5s',
  });
}

/** Job workflows the background Worker keeps in memory between their tasks. */
const BACKGROUND_MAX_CACHED_WORKFLOWS = 50;

/** The activities of the recovery and replay workflows (on both queues: runs started before the background queue stay on the main one). */
function backgroundActivities(opts: { config: Config; dataSource: DataSource; logger: Logger }) {
  const { config } = opts;
  // one pace per process (both Workers register these activities)
  let pace = PACES.get(config);
  if (!pace) PACES.set(config, (pace = new Pace(config.background.requestsPerSecond)));
  return {
    ...createRecoveryActivities({
      recoveries: new RecoveryStore(opts.dataSource),
      logger: opts.logger,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      pace,
    }),
    ...createReplayActivities({
      replays: new ReplayStore(opts.dataSource, config.payloadCopy),
      logger: opts.logger,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      pace,
    }),
  };
}

/** The pace of background requests, one per worker configuration (i.e. per process). */
const PACES = new WeakMap<Config, Pace>();

/** Starts and signals delivery workflows from the worker (the hub's own events, lane hand-ons). */
function deliveryWorkflows(client: Client, config: Config): DeliveryWorkflows {
  return new DeliveryWorkflows(client, config.temporal.taskQueue, config.temporal.uiUrl, config.temporal.namespace, config.temporal.requestTimeoutMs, config.background.taskQueue);
}

/** The hub's own events go through the same ingest as everyone's (the deliveries start from here). */
function hubIngest(opts: { config: Config; dataSource: DataSource; logger: Logger; client?: Client; providers?: ProviderRegistry }): IngestService {
  const { config } = opts;
  const workflows = opts.client ? deliveryWorkflows(opts.client, config) : undefined;
  const providers = opts.providers;
  return new IngestService(
    opts.dataSource,
    new EventCatalogue(opts.dataSource),
    workflows ?? NO_STARTS,
    opts.logger,
    () => (providers?.list() ?? []).filter((p) => p.definition.followUps).map((p) => p.definition.id),
    config.workflowStarts,
    config.payloadCopy,
  );
}

/** The hub's events as a process outside the worker's activities raises them (its plugin runtime: `hub.plugin.failing`). */
export function workerHubEvents(opts: { config: Config; dataSource: DataSource; logger: Logger; client?: Client; providers?: ProviderRegistry }): HubEvents {
  const ingest = hubIngest(opts);
  return new HubEvents((req) => ingest.ingest(req, HUB_AUTH), opts.logger);
}

/** Leaves every start to the reconciler (a worker without a Temporal client). */
const NO_STARTS = { start: async () => { throw new Error('no Temporal client in this worker; the reconciler starts it'); } } as unknown as DeliveryWorkflows;

function workerOptions(opts: Parameters<typeof buildWorker>[0], config: Config) {
  const ingest = hubIngest(opts);
  const laneSignals = opts.client ? deliveryWorkflows(opts.client, config) : undefined;
  const quiet = opts.quietTargets;
  const stores = activityStores(opts.dataSource, opts.metrics);
  const targets = new TargetHealth(
    quiet ? new QuietCircuits(opts.dataSource, config.targetHealth, quiet) : new Circuits(opts.dataSource, config.targetHealth),
    new HubEvents((req) => ingest.ingest(req, HUB_AUTH), opts.logger),
    opts.logger,
  );
  const traced = config.otlpEndpoint !== undefined;
  const source = workflowSource(traced);
  return {
    // a worker that died holds its sticky queue for this long before another takes its workflows
    stickyQueueScheduleToStartTimeout: '3s',
    connection: opts.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...source,
    ...workerTracing('workflowBundle' in source, traced),
    activities: {
      ...createActivities({
        ...stores,
        ...(quiet ? { targetLimits: quietLimits(stores.targetLimits!, quiet) } : {}),
        // off: deliveries of one record go as soon as they can, as before ordered lanes (the benchmark's baseline)
        ...(config.orderedFollowUps ? {} : { lanes: undefined }),
        signalLane: laneSignals ? (ids) => laneSignals.signalLaneTurn(ids) : undefined,
        metrics: opts.metrics,
        logger: opts.logger,
        providers: opts.providers ?? providersFor(config, opts.logger).registry,
        secrets: createSecretBox([config.encryption.masterKey, ...config.encryption.previousKeys]),
        http: outboundClient(config),
        targets,
        attemptBodyMaxBytes: config.attemptBodyMaxBytes,
      }),
      ...backgroundActivities(opts),
      ...createRetentionActivities({
        purger: new RetentionPurger(opts.dataSource, config.retention),
        retention: config.retention,
        logger: opts.logger,
      }),
    },
    maxConcurrentActivityTaskExecutions: config.workerMaxConcurrentActivities,
    // attempts run as local activities (docs/DESIGN.md decision 15): the same bound on attempts in flight
    maxConcurrentLocalActivityExecutions: config.workerMaxConcurrentActivities,
    // caps the workflows held in memory between their tasks; the SDK's default grows with the heap limit (~2,300
    // here). Not a bound on the worker's memory by itself (the starvation test saw 2.9 GB RSS while seeding)
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
  };
}

/** The identity the hub's own events are ingested under. */
const HUB_AUTH = { tokenId: 'hub', role: 'admin' as const, owners: [] };
