import type { DataSource } from 'typeorm';
import { createDataSource } from '../../entities/data-source';
import type { Logger } from '../logger';
import { setPreparedStatements } from './prepared';

// Any fixed number works; every process of the service takes the same lock before migrating.
/** Held while the schema changes: migrations (for their whole run) and the functions created at run time (src/ingest/locked-ingest.ts). */
export const MIGRATION_LOCK_ID = 741_852_963;

/**
 * Connects to PostgreSQL (retrying for up to `waitMs` while it starts) and applies pending
 * migrations under an advisory lock, so API and worker starting together do not race.
 */
export async function openDatabase(
  url: string,
  logger: Logger,
  options: { poolSize?: number; applicationName?: string; waitMs?: number; preparedStatements?: boolean } = {},
): Promise<DataSource> {
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    const ds = createDataSource(url, options);
    try {
      await ds.initialize();
      await migrate(ds, logger);
      if (options.preparedStatements !== undefined) setPreparedStatements(ds, options.preparedStatements);
      return ds;
    } catch (err) {
      if (ds.isInitialized) await ds.destroy().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      logger.warn({ err: (err as Error).message }, 'database not ready; retrying');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function migrate(ds: DataSource, logger: Logger): Promise<void> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.info({ migration: m.name }, 'migration applied');
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
