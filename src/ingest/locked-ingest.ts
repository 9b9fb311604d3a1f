import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import { MIGRATION_LOCK_ID } from '../database/open';
import { preparedQuery } from '../database/prepared';

/** SQLSTATE undefined_function: the function went away (a restore without it); created again. */
const UNDEFINED_FUNCTION = '42883';
/** How long ingest keeps the transaction after the function could not be created. */
const RETRY_CREATE_MS = 60_000;
const ARGUMENTS = 'text, text, timestamptz, text[], jsonb, varchar, text[], bigint';

/**
 * The ingest statement of an event with a subject, and its subject lock, in one round trip (issue 22). The lock
 * must be taken before the statement's snapshot (the statement reads the lane's open deliveries and draws the
 * lane sequence after it), which took four round trips: BEGIN, the lock, the statement, COMMIT. Under load each
 * one was a wait for a core and for the pool, and a COMMIT that stalled held the connection through all of them.
 *
 * Here the two run inside one PL/pgSQL function called as a single statement: a volatile function takes a new
 * snapshot for each query it runs, so the statement sees every commit made before the lock was granted, exactly as
 * the statement after `SELECT pg_advisory_xact_lock` did; the lock is held until the statement's own commit. The
 * function is named by a hash of its text and created on first use (under an advisory lock, by whichever process
 * comes first), so a changed statement gets a new function and an older release keeps its own. When it cannot be
 * created (no CREATE privilege on the schema), ingest keeps the transaction and says so once.
 */
export class LockedIngest {
  readonly name: string;
  private readonly create: string;
  private readonly call: string;
  private ready?: Promise<boolean>;
  /** After a failed creation, events take the transaction until then (ms since the epoch) before it is tried again. */
  private failedUntil = 0;
  private warned = false;

  /** `statement`: the ingest statement with parameters $1..$7 (src/ingest/service.ts); $8 is the lock id. */
  constructor(
    private readonly dataSource: DataSource,
    statement: string,
    private readonly logger: Logger,
  ) {
    this.name = `ihub_ingest_${crypto.createHash('sha256').update(statement).digest('hex').slice(0, 24)}`;
    this.create = `CREATE OR REPLACE FUNCTION ${this.name}(${ARGUMENTS})
      RETURNS TABLE (created boolean, id text, subscription_id text, provider text, workflow_id text)
      LANGUAGE plpgsql VOLATILE AS $ihub$
      #variable_conflict use_column
      BEGIN
        PERFORM pg_advisory_xact_lock($8);
        RETURN QUERY ${statement};
      END $ihub$`;
    this.call = `SELECT * FROM ${this.name}($1, $2, $3, $4, $5, $6, $7, $8)`;
  }

  /** Runs the locked statement; undefined when the function is unavailable (the caller then uses a transaction). */
  async run<T>(params: unknown[], lockId: bigint | string): Promise<T[] | undefined> {
    if (!(await this.ensure())) return undefined;
    try {
      return await preparedQuery<T>(this.dataSource, this.call, [...params, String(lockId)]);
    } catch (err) {
      if ((err as { code?: string }).code !== UNDEFINED_FUNCTION) throw err;
      this.ready = undefined; // made again by the next call; this one takes the transaction
      return undefined;
    }
  }

  private ensure(): Promise<boolean> {
    if (Date.now() < this.failedUntil) return Promise.resolve(false);
    this.ready ??= this.dataSource
      .transaction(async (tx) => {
        // the migrations' lock: two processes meeting a new statement together create it once, and not mid-migration
        await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
        const [{ present }] = await tx.query(`SELECT to_regprocedure($1) IS NOT NULL AS present`, [`${this.name}(${ARGUMENTS})`]);
        if (!present) await tx.query(this.create);
      })
      .then(
        () => true,
        (err) => {
          if (!this.warned) {
            this.warned = true;
            this.logger.warn({ err: (err as Error).message, function: this.name }, 'ingest: cannot create its locked statement; events with a subject take a transaction (four round trips)');
          }
          this.ready = undefined;
          this.failedUntil = Date.now() + RETRY_CREATE_MS;
          return false;
        },
      );
    return this.ready;
  }
}
