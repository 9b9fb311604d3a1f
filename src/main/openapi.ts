import { Client, Connection } from '@temporalio/client';
import fs from 'node:fs';
import { createDataSource } from '../../entities/data-source';
import { buildApi } from '../api';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { outboundClient } from '../outbound';
import { providersWithPlugins } from '../providers';
import { createSecretBox } from '../secrets/crypto';

/**
 * Writes the OpenAPI document the API serves at /api/v1/openapi.json to the file named by the first argument,
 * without a database or Temporal: the routes are built as the API builds them, and nothing connects.
 * The admin UI's client types are generated from it at every build, so the UI and the API cannot drift.
 */
function main(): void {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node dist/src/main/openapi.js <out.json>');
  // placeholders: building routes reads config but opens no connection (the data source and Temporal are lazy)
  const config = loadConfig({ ...process.env, ENCRYPTION_MASTER_KEY: 'openapi-document-only-key', LOG_LEVEL: 'silent' });
  const logger = createLogger('silent', 'openapi');
  const dataSource = createDataSource('postgres://openapi@127.0.0.1:1/none');
  const { registry, plugins } = providersWithPlugins(config, dataSource, logger);
  const api = buildApi({
    config,
    dataSource,
    client: new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
    logger,
    providers: registry,
    plugins,
    secrets: createSecretBox([config.encryption.masterKey]),
    http: outboundClient(config),
  });
  fs.writeFileSync(out, `${JSON.stringify(api.routes.openapi({ title: 'Integrations Hub', version: '1' }), null, 2)}\n`);
}

main();
