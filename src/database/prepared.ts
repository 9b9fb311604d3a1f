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
  const ds = dataSourceOf(db);
  const name = enabled.get(ds) === false ? undefined : nameOf(text);
  const pool = name ? poolOf(ds) : undefined;
  if (!name || !pool) return db.query(text, params);
  const runner = 'queryRunner' in db ? (db as EntityManager).queryRunner : undefined;
  if (runner) {
    if (runner.isReleased) return db.query(text, params); // TypeORM's own error, as before
    return run((await (runner as unknown as { connect(): Promise<PgClient> }).connect()), text, name, params);
  }
  const client = await pool.connect();
  let failure: unknown;
  // while checked out the client has no listener of the pool's: an error the server sends between two messages (a
  // FATAL from a PostgreSQL shutting down, right after the statement's answer) would be an unhandled 'error' event
  // and end the process. Caught here, it drops the client as any connection failure does.
  const onError = (err: Error) => {
    failure ??= err;
  };
  client.on('error', onError);
  try {
    return await run(client, text, name, params);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    client.removeListener('error', onError);
    // an error PostgreSQL answered (a constraint, a type) leaves the connection and its statements usable; anything
    // else (the connection lost, a protocol error) drops it from the pool, as node-postgres's pool.query does
    client.release(failure === undefined || answeredByServer(failure) ? undefined : (failure as Error));
  }
}

async function run<T>(client: PgClient, text: string, name: string, params: unknown[]): Promise<T[]> {
  try {
    return (await client.query({ name, text, values: params })).rows as T[];
  } catch (err) {
    if ((err as { code?: unknown })?.code !== CACHED_PLAN_CHANGED) throw err;
    // a migration changed what the prepared statement returns (a column's type): prepared again under a new
    // name (node-postgres keeps the old name's statement per connection), so the next calls do not fail first
    renamed.set(text, (renamed.get(text) ?? 0) + 1);
    names.delete(text);
    return (await client.query({ name: nameOf(text), text, values: params })).rows as T[];
  }
}

/** An error with a SQLSTATE from the server, other than a connection exception (08) or a shutdown (57). */
function answeredByServer(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57)/.test(code);
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
/** How many times a statement was renamed after a migration changed its result type. */
const renamed = new Map<string, number>();

function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name) return name;
  if (names.size >= MAX_NAMES) return undefined;
  name = `ih_${crypto.createHash('sha256').update(text).digest('hex').slice(0, 24)}_${renamed.get(text) ?? 0}`;
  names.set(text, name);
  return name;
}

/** What is used of node-postgres: a pooled client (a query config with a name is prepared) and its pool. */
interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  release(err?: Error): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}
interface PgPool {
  connect(): Promise<PgClient>;
}

function dataSourceOf(db: DataSource | EntityManager): DataSource {
  return 'connection' in db && (db as EntityManager).connection ? (db as EntityManager).connection : (db as DataSource);
}

/** The data source's node-postgres pool; undefined for another driver. */
function poolOf(ds: DataSource): PgPool | undefined {
  const driver = ds.driver as unknown as { options?: { type?: string }; master?: PgPool };
  return driver.options?.type === 'postgres' && typeof driver.master?.connect === 'function' ? driver.master : undefined;
}
