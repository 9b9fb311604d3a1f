import type { DataSource } from 'typeorm';

/** A destination's rate limit as the API shows it. */
export interface TargetLimitView {
  targetKey: string;
  /** The configured limit (requests per second), or null when only learned limits apply. */
  requestsPerSecond: number | null;
  /** While in the future: the target asked to slow down and every delivery to it waits until then. */
  blockedUntil: string | null;
  /** When the target last answered with a rate limit (429 or a provider's rate-limit answer), and its status. */
  learnedAt: string | null;
  learnedStatus: number | null;
}

interface Row {
  target_key: string;
  per_second: number | null;
  blocked_until: Date | null;
  learned_at: Date | null;
  learned_status: number | null;
}

const COLUMNS = 'target_key, per_second, blocked_until, learned_at, learned_status';

function view(r: Row): TargetLimitView {
  return {
    targetKey: r.target_key,
    requestsPerSecond: r.per_second,
    blockedUntil: r.blocked_until ? new Date(r.blocked_until).toISOString() : null,
    learnedAt: r.learned_at ? new Date(r.learned_at).toISOString() : null,
    learnedStatus: r.learned_status,
  };
}

/** Configured and learned limits per destination (table target_limits; the attempt gate reads the same rows). */
export class TargetLimitStore {
  constructor(private readonly ds: DataSource) {}

  async list(): Promise<TargetLimitView[]> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM target_limits ORDER BY target_key`);
    return rows.map(view);
  }

  async get(targetKey: string): Promise<TargetLimitView | undefined> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM target_limits WHERE target_key = $1`, [targetKey]);
    return rows[0] ? view(rows[0]) : undefined;
  }

  /** Sets (or with null, removes) the configured limit; a learned block stays as it is. */
  async setLimit(targetKey: string, perSecond: number | null): Promise<TargetLimitView> {
    const rows: Row[] = await this.ds.query(
      `INSERT INTO target_limits (target_key, per_second) VALUES ($1, $2)
       ON CONFLICT (target_key) DO UPDATE SET per_second = EXCLUDED.per_second, updated_at = now()
       RETURNING ${COLUMNS}`,
      [targetKey, perSecond],
    );
    return view(rows[0]);
  }
}
