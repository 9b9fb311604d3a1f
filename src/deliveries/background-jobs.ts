import type { DataSource } from 'typeorm';
import { HttpProblem } from '../http/problem';

/** What a job's row is stored through: the admission's transaction. */
export interface JobDb {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** Any advisory lock key of our own: admissions of background jobs queue on it, one at a time. */
const ADMISSION_LOCK = 0x1b_ac_0b;
/** When a refused job may be asked for again (s). */
export const BACKGROUND_RETRY_AFTER_S = 30;

/**
 * The cap on background jobs (bulk recoveries and replays together, BACKGROUND_MAX_JOBS): a job is admitted, and
 * its row stored, in one transaction under an advisory lock, so two requests at once cannot both take the last
 * place. Beyond the cap: 409 problem+json with Retry-After. A job holds its place while its row is `running`.
 */
export class BackgroundJobs {
  constructor(
    private readonly dataSource: DataSource,
    private readonly maxJobs: number,
  ) {}

  /** Stores a job through `create` when fewer than `maxJobs` run; a 409 problem otherwise. */
  async admit<T>(kind: string, create: (db: JobDb) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [ADMISSION_LOCK]);
      const [{ n }]: { n: string }[] = await m.query(
        `SELECT (SELECT count(*) FROM recoveries WHERE status = 'running') + (SELECT count(*) FROM replays WHERE status = 'running') AS n`,
      );
      if (Number(n) >= this.maxJobs) {
        throw new HttpProblem(
          409,
          'Conflict',
          `${this.maxJobs} background jobs (recoveries and replays) are running, the most allowed at once (BACKGROUND_MAX_JOBS); ask for this ${kind} again once one has ended`,
          undefined,
          { 'Retry-After': String(BACKGROUND_RETRY_AFTER_S) },
        );
      }
      return create(m);
    });
  }
}
