import crypto from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';

/**
 * The hot statements of the delivery path (the ingest statement, an attempt's load, mark and log write, target
 * health) as named prepared statements (issue 22). TypeORM sends every query unnamed, so PostgreSQL parses and
 * plans each one again: for these multi-CTE statements that was most of their cost (0.7-0.8 ms of the server's
 * CPU per call against 0.09-0.16 ms prepared, measured on this machine; docs/benchmarks.md). A statement is
 * prepared once per pooled connection, named by a hash of its text; PostgreSQL re-plans it by itself after a
 * migration changes a table it reads.
 *
 * `DB_PREPARED_STATEMENTS=false` sends them unnamed again, for a connection pooler in transaction mode that does
 * not keep prepared statements (PgBouncer before 1.21, or without `max_prepared_statements`).
 */
export async function preparedQuery<T>(db: DataSource | EntityManager, text: string, params: unknown[]): Promise<T[]> {
  const conn = enabled.get(dataSourceOf(db)) === false ? undefined : await pgConnection(db);
  if (!conn) return db.query(text, params);
  const name = nameOf(text);
  if (!name) return db.query(text, params);
  try {
    return (await conn.query({ name, text, values: params })).rows as T[];
  } catch (err) {
    // a migration changed what a prepared statement returns (a column's type): this once, unnamed
    if ((err as { code?: unknown })?.code === CACHED_PLAN_CHANGED) return (await conn.query({ text, values: params })).rows as T[];
    throw err;
  }
}

/** Turns prepared statements off (DB_PREPARED_STATEMENTS=false) or on for one data source; on by default. */
export function setPreparedStatements(ds: DataSource, on: boolean): void {
  enabled.set(ds, on);
}

const enabled = new WeakMap<DataSource, boolean>();

/** SQLSTATE 0A000 with "cached plan must not change result type": a prepared statement outlived a column's type. */
const CACHED_PLAN_CHANGED = '0A000';

/** Statement names known (texts are a small fixed set; a runaway caller runs unnamed beyond this many). */
const MAX_NAMES = 500;
const names = new Map<string, string>();

function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name) return name;
  if (names.size >= MAX_NAMES) return undefined;
  name = `ih_${crypto.createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  names.set(text, name);
  return name;
}

/** What node-postgres's Pool and Client both answer (a query config with a name is prepared). */
interface PgQueryable {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

function dataSourceOf(db: DataSource | EntityManager): DataSource {
  return 'connection' in db && (db as EntityManager).connection ? (db as EntityManager).connection : (db as DataSource);
}

/**
 * The node-postgres object to run on: a transaction's own connection (an EntityManager with a query runner),
 * otherwise the data source's pool. Undefined when the driver is not node-postgres's.
 */
async function pgConnection(db: DataSource | EntityManager): Promise<PgQueryable | undefined> {
  const runner = 'queryRunner' in db ? (db as EntityManager).queryRunner : undefined;
  if (runner) {
    if (runner.isReleased) return undefined; // TypeORM's own error, as before
    const client = (await (runner as unknown as { connect(): Promise<unknown> }).connect()) as PgQueryable | undefined;
    return typeof client?.query === 'function' ? client : undefined;
  }
  const driver = dataSourceOf(db).driver as unknown as { options?: { type?: string }; master?: PgQueryable };
  return driver.options?.type === 'postgres' && typeof driver.master?.query === 'function' ? driver.master : undefined;
}
