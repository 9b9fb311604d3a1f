import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { activityStores, createActivities } from '../../activities';
import { createRecoveryActivities } from '../../activities/recovery';
import { createRetentionActivities } from '../../activities/retention';
import { RetentionPurger } from '../deliveries/retention';
import { RecoveryStore } from '../deliveries/recoveries';
import { providersFor } from '../providers';
import type { ProviderRegistry } from '../../providers/registry';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createSecretBox } from '../secrets/crypto';
import { outboundClient } from '../outbound';

/** The prebuilt bundle from `npm run build`; bundling at start-up is the slow fallback. */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = path.resolve(__dirname, '../../workflow-bundle.js');
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
}): Promise<Worker> {
  const { config } = opts;
  return Worker.create({
    // a worker that died holds its sticky queue for this long before another takes its workflows
    stickyQueueScheduleToStartTimeout: '3s',
    connection: opts.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...workflowSource(),
    activities: {
      ...createActivities({
        ...activityStores(opts.dataSource),
        logger: opts.logger,
        providers: opts.providers ?? providersFor(config, opts.logger).registry,
        secrets: createSecretBox([config.encryption.masterKey, ...config.encryption.previousKeys]),
        http: outboundClient(config),
      }),
      ...createRecoveryActivities({
        recoveries: new RecoveryStore(opts.dataSource),
        logger: opts.logger,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
      }),
      ...createRetentionActivities({
        purger: new RetentionPurger(opts.dataSource, config.retention),
        retention: config.retention,
        logger: opts.logger,
      }),
    },
    maxConcurrentActivityTaskExecutions: config.workerMaxConcurrentActivities,
  });
}
