import type { DataSource } from 'typeorm';
import { HttpProblem } from '../http/problem';
import { recoveryWorkflowId, replayWorkflowId } from '../../workflows/types';

/** What a job's row is stored through: the admission's transaction. */
interface JobDb {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * Where a job's workflow stands in Temporal: its status name (`RUNNING`, `TERMINATED`, `TIMED_OUT`, ...), or
 * `NOT_FOUND`. Throws when Temporal does not answer (in time): the job then keeps its place.
 */
interface JobWorkflowStates {
  jobWorkflowStatus(workflowId: string): Promise<string>;
}

/** Any advisory lock key of our own: admissions of background jobs queue on it, one at a time. */
const ADMISSION_LOCK = 0x1b_ac_0b;
/** When a refused job may be asked for again (s). */
const BACKGROUND_RETRY_AFTER_S = 30;
/**
 * A running row whose workflow Temporal does not know is closed only once it is this old (ms): a job's row is
 * committed before its workflow is started, and that start may take up to TEMPORAL_REQUEST_TIMEOUT_MS.
 */
const JOB_START_GRACE_MS = 60_000;
/** Statuses of a job's workflow in which it still holds its place. */
const HOLDS_A_PLACE = new Set(['RUNNING', 'UNSPECIFIED', 'UNKNOWN']);

const JOB_TABLES = { recovery: 'recoveries', replay: 'replays' } as const;
type JobKind = keyof typeof JOB_TABLES;
const WORKFLOW_ID: Record<JobKind, (id: string) => string> = { recovery: recoveryWorkflowId, replay: replayWorkflowId };

/**
 * The cap on background jobs (bulk recoveries and replays together, BACKGROUND_MAX_JOBS): a job is admitted, and
 * its row stored, in one transaction under an advisory lock, so two requests at once cannot both take the last
 * place. Beyond the cap: 409 problem+json with Retry-After. A job holds its place while its row is `running` and
 * its workflow runs: at the cap, the open rows' workflows are looked up in Temporal (each with a deadline), and a
 * row whose workflow ended outside the hub (terminated, timed out, failed, or gone) is closed `failed`, freeing
 * its place, before the request is answered.
 */
export class BackgroundJobs {
  constructor(
    private readonly dataSource: DataSource,
    private readonly maxJobs: number,
    /** Absent: rows are never reaped (a job holds its place until its workflow writes its end). */
    private readonly workflows?: JobWorkflowStates,
  ) {}

  /** Stores a job through `create` when fewer than `maxJobs` run; a 409 problem otherwise. */
  async admit<T>(kind: string, create: (db: JobDb) => Promise<T>): Promise<T> {
    try {
      return await this.admitOnce(kind, create);
    } catch (err) {
      if (!(err instanceof HttpProblem && err.status === 409) || !this.workflows) throw err;
      if ((await this.reapEnded()) === 0) throw err;
      return this.admitOnce(kind, create);
    }
  }

  private async admitOnce<T>(kind: string, create: (db: JobDb) => Promise<T>): Promise<T> {
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

  /**
   * Closes the running rows whose workflow has ended in Temporal without writing the row's end (terminated or
   * timed out by an operator, failed, or no longer known past JOB_START_GRACE_MS). A workflow Temporal does not
   * describe in time keeps its place. Returns how many rows it closed.
   */
  async reapEnded(): Promise<number> {
    const workflows = this.workflows;
    if (!workflows) return 0;
    const open: { kind: JobKind; id: string; age_ms: number }[] = await this.dataSource.query(
      `SELECT 'recovery' AS kind, id, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms FROM recoveries WHERE status = 'running'
       UNION ALL
       SELECT 'replay' AS kind, id, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms FROM replays WHERE status = 'running'`,
    );
    const closed = await Promise.all(
      open.map(async (job) => {
        const workflowId = WORKFLOW_ID[job.kind](job.id);
        const status = await workflows.jobWorkflowStatus(workflowId).catch(() => 'UNKNOWN');
        if (HOLDS_A_PLACE.has(status) || (status === 'NOT_FOUND' && job.age_ms < JOB_START_GRACE_MS)) return 0;
        const how = status === 'NOT_FOUND' ? 'is not known to Temporal' : `ended ${status.toLowerCase().replace(/_/g, ' ')}`;
        const rows: unknown[] = await this.dataSource.query(
          `WITH u AS (UPDATE ${JOB_TABLES[job.kind]} SET status = 'failed', error = $2, finished_at = now(), updated_at = now()
             WHERE id = $1 AND status = 'running' RETURNING id) SELECT id FROM u`,
          [job.id, `The ${job.kind}'s workflow (${workflowId}) ${how} before the ${job.kind} finished; ask for it again to go on`],
        );
        return rows.length;
      }),
    );
    return closed.reduce((a, b) => a + b, 0);
  }
}
