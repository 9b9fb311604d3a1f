import { loadConfig } from '../config';
import { openDatabase } from '../database/open';
import { RetentionPurger, purgePlan } from '../deliveries/retention';
import { createLogger } from '../logger';
import { exitOnStartupError } from './shutdown';

/**
 * `npm run purge`: the retention purge the daily schedule runs, now and in this process: deletes finished
 * deliveries (with their attempts) and emissions older than RETENTION_DAYS and drops payloads older than
 * RETENTION_PAYLOAD_DAYS, in batches of RETENTION_BATCH_SIZE; prints the counts.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'purge');
  if (!config.databaseUrl) throw new Error('DATABASE_URL must be set');
  const ds = await openDatabase(config.databaseUrl, logger, { applicationName: 'integrations-hub-purge' });
  const plan = purgePlan(config.retention, Date.now());
  const at = (ms: number | null) => (ms === null ? 'kept' : `before ${new Date(ms).toISOString()}`);
  process.stdout.write(`purging rows ${at(plan.rowsBeforeMs)}, payloads ${at(plan.payloadsBeforeMs)}\n`);
  const totals = await new RetentionPurger(ds, config.retention).all(plan);
  process.stdout.write(
    `deleted ${totals.deliveries} deliveries and ${totals.emissions} emissions; ` +
      `dropped ${totals.deliveryPayloads} delivery payloads and ${totals.emissionPayloads} emission payloads\n`,
  );
  await ds.destroy();
}

main().catch(exitOnStartupError);
