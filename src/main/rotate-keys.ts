import { loadConfig } from '../config';
import { openDatabase } from '../database/open';
import { createLogger } from '../logger';
import { providersWithPlugins } from '../providers';
import { createSecretBox } from '../secrets/crypto';
import { reencryptAll } from '../secrets/rotate';
import { exitOnStartupError } from './shutdown';

/**
 * `npm run rotate-keys`: after setting a new ENCRYPTION_MASTER_KEY and moving the old one to
 * ENCRYPTION_PREVIOUS_KEYS, re-encrypts every stored secret under the new key; then the old key can go.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'rotate-keys');
  if (!config.databaseUrl) throw new Error('DATABASE_URL must be set');
  const ds = await openDatabase(config.databaseUrl, logger);
  const box = createSecretBox([config.encryption.masterKey, ...config.encryption.previousKeys]);
  // installed plugins too: their subscriptions' secret fields are known from their schemas
  const { registry, plugins } = providersWithPlugins(config, ds, logger);
  await plugins.sync();
  const counts = await reencryptAll(ds, registry, box);
  process.stdout.write(`re-encrypted under key ${box.currentKeyId}: ${JSON.stringify(counts)}\n`);
  await plugins.stop(); // their hosts (child processes) would keep this process alive
  await ds.destroy();
}

main().catch(exitOnStartupError);
