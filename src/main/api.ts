import { Connection } from '@temporalio/client';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig } from '../config';
import { openDatabase } from '../database/open';
import { createApp } from '../http/app';
import { hubReadiness } from '../http/readiness';
import { registerPollerGauge } from '../metrics/pollers';
import { createLogger } from '../logger';
import { buildApi } from '../api';
import { providersWithPlugins } from '../providers';
import { createSecretBox } from '../secrets/crypto';
import { outboundClient } from '../outbound';
import { exitOnStartupError, onShutdown } from './shutdown';
import { UI_DIR } from '../http/ui';
import { registerBacklogGauges } from '../metrics/backlog';
import { tracedClient } from '../temporal/tracing';
import { installTracing } from '../telemetry/tracing';

/** The API process: HTTP on PORT, talking to PostgreSQL and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'api');
  const tracing = installTracing({ serviceName: 'integrations-hub-api', otlpEndpoint: config.otlpEndpoint });
  if (!config.databaseUrl || !config.temporal.address) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set (or run `npm start` for the embedded stack)');
  }
  const dataSource = await openDatabase(config.databaseUrl, logger, { applicationName: 'integrations-hub-api', preparedStatements: config.preparedStatements });
  // lazy: the API starts (and /readyz answers 503) even while Temporal is still coming up
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = tracedClient(connection, config.temporal.namespace);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  registerBacklogGauges(metrics, dataSource);
  const readiness = hubReadiness({ config, db: dataSource, connection });
  registerPollerGauge(metrics, readiness.pollers);
  const { registry: providers, plugins } = providersWithPlugins(config, dataSource, logger);
  await plugins.start(config.databaseUrl);
  const api = buildApi({
    config,
    dataSource,
    client,
    logger,
    providers,
    plugins,
    secrets: createSecretBox([config.encryption.masterKey, ...config.encryption.previousKeys]),
    http: outboundClient(config),
  });
  await api.catalogue.seedBuiltins();
  api.reconciler.start();
  const app = createApp({
    logger,
    registry: metrics,
    apiRouter: api.router,
    uiDir: UI_DIR,
    readiness: readiness.checks,
  });
  const server = app.listen(config.port, () => logger.info({ port: config.port }, 'API listening'));
  onShutdown(logger, async () => {
    api.live.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await api.reconciler.stop();
    await api.ingest.settle();
    await connection.close();
    await plugins.stop();
    await dataSource.destroy();
    await tracing.shutdown();
  });
}

main().catch(exitOnStartupError);
