import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config';
import { openDatabase } from '../db';
import { createLogger } from '../logger';
import { providersWithPlugins } from '../providers';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ensureRetentionSchedule } from '../temporal/retention-schedule';
import { buildWorker, installTemporalRuntime } from '../worker';
import { exitOnStartupError, whenParentGone } from './shutdown';

/** The worker process: runs delivery workflows and their activities until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'worker');
  installTemporalRuntime(logger);
  if (!config.databaseUrl || !config.temporal.address) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set (or run `npm start` for the embedded stack)');
  }
  const dataSource = await openDatabase(config.databaseUrl, logger, { applicationName: 'integrations-hub-worker' });
  const client = await Connection.connect({ address: config.temporal.address });
  const added = await ensureSearchAttributes(client, config.temporal.namespace);
  if (added.length) logger.info({ added }, 'search attributes registered');
  await ensureRetentionSchedule(
    new Client({ connection: client, namespace: config.temporal.namespace }),
    { taskQueue: config.temporal.taskQueue, cron: config.retention.schedule },
    logger,
  );
  await client.close();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const { registry: providers, plugins } = providersWithPlugins(config, dataSource, logger);
  await plugins.start(config.databaseUrl);
  const worker = await buildWorker({ config, connection, dataSource, logger, providers });
  logger.info({ taskQueue: config.temporal.taskQueue }, 'worker running');
  whenParentGone(() =>
    setImmediate(() => {
      logger.info({ signal: 'parent gone' }, 'shutting down');
      worker.shutdown();
    }),
  );
  // resolves after SIGINT/SIGTERM (the SDK's default shutdown signals) or the parent's end, once in-flight tasks finish
  await worker.run();
  await connection.close();
  await plugins.stop();
  await dataSource.destroy();
  logger.info('worker stopped');
}

main().catch(exitOnStartupError);
