import crypto from 'node:crypto';
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { DeliveryEntity } from '../../entities/delivery.entity';
import { deliveryPayloadKeptSql } from './payload';
import { applyFilter, type DeliveryFilter } from './filter';

/** Which deliveries a recovery redelivers: failed ones, by the delivery log's filters. */
export type RecoveryFilter = Pick<DeliveryFilter, 'subscriptionId' | 'event' | 'since' | 'until'> & { status: 'failed' };

/** A bulk recovery as the API shows it (API.md "Deliveries"). */
export interface RecoveryView {
  id: string;
  status: 'running' | 'done' | 'failed';
  filter: RecoveryFilter;
  /** Failed deliveries the selection held when the recovery was asked for (at most the cap). */
  total: number;
  /** Redeliveries requested so far. */
  done: number;
  /** Deliveries whose redelivery could not be requested. */
  failed: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface RecoveryRow {
  id: string;
  status: RecoveryView['status'];
  filter: RecoveryFilter;
  total: number;
  done: number;
  failed: number;
  cursor: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** The `recoveries` table: a recovery's selection and its progress, written by its workflow. */
export class RecoveryStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a new recovery of up to `max` deliveries. The selection's end (`until`) is fixed to now when not
   * given, so deliveries that fail while it runs are not swept in.
   */
  async create(filter: RecoveryFilter, max: number, db: { query(sql: string, params?: unknown[]): Promise<any> } = this.dataSource): Promise<RecoveryView> {
    const fixed: RecoveryFilter = { ...filter, until: filter.until ?? new Date().toISOString() };
    const qb = this.dataSource.getRepository(DeliveryEntity).createQueryBuilder('d').select('1').limit(max);
    applyRecoverable(qb, fixed);
    const [sql, params] = qb.getQueryAndParameters();
    const [{ n }]: { n: string }[] = await db.query(`SELECT count(*) AS n FROM (${sql}) sel`, params);
    const id = `rcv_${crypto.randomUUID().replace(/-/g, '')}`;
    const rows: RecoveryRow[] = await db.query(
      `INSERT INTO recoveries (id, filter, status, total) VALUES ($1, $2, 'running', $3) RETURNING *`,
      [id, JSON.stringify(fixed), Number(n)],
    );
    return view(rows[0]);
  }

  async get(id: string): Promise<RecoveryView | undefined> {
    const rows: RecoveryRow[] = await this.dataSource.query('SELECT * FROM recoveries WHERE id = $1', [id]);
    return rows[0] ? view(rows[0]) : undefined;
  }

  /** Where a recovery stands: its selection, how many it has handled and the last delivery id it reached. */
  async position(id: string): Promise<{ filter: RecoveryFilter; total: number; handled: number; cursor: string | null } | undefined> {
    const rows: RecoveryRow[] = await this.dataSource.query('SELECT * FROM recoveries WHERE id = $1', [id]);
    const r = rows[0];
    return r && { filter: r.filter, total: r.total, handled: r.done + r.failed, cursor: r.cursor };
  }

  /** The next `limit` still-failed deliveries of the selection after delivery id `after` (id order). */
  async nextBatch(filter: RecoveryFilter, after: string | null, limit: number): Promise<DeliveryEntity[]> {
    const qb = this.dataSource.getRepository(DeliveryEntity).createQueryBuilder('d').orderBy('d.id', 'ASC').limit(limit);
    applyRecoverable(qb, filter);
    if (after) qb.andWhere('d.id > :after', { after });
    return qb.getMany();
  }

  /**
   * Claims deliveries for a redelivery: those still `failed` become `retrying` in one UPDATE, so of two recoveries
   * (or batches) that selected the same delivery only one gets it back. Returns the ids this call claimed.
   */
  async claim(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count]
    const rows: { id: string }[] = await this.dataSource.query(
      `WITH c AS (UPDATE deliveries SET status = 'retrying', updated_at = now() WHERE id = ANY($1) AND status = 'failed' RETURNING id)
       SELECT id FROM c`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Gives back a claim whose redelivery could not be requested (still `retrying` with no new attempt: `failed` again). */
  async unclaim(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE deliveries d SET status = 'failed', updated_at = now() WHERE d.id = $1 AND d.status = 'retrying'
          AND NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.started_at > d.updated_at)`,
      [id],
    );
  }

  /**
   * Adds a batch's counts and moves the cursor from `from` to `to`; false (nothing changed) when the
   * cursor was no longer at `from`, i.e. this batch was already counted (a retried activity).
   */
  async advance(id: string, from: string | null, to: string, done: number, failed: number): Promise<boolean> {
    // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count] (always 2 long)
    const rows: unknown[] = await this.dataSource.query(
      `WITH u AS (UPDATE recoveries SET done = done + $3, failed = failed + $4, cursor = $2, updated_at = now()
        WHERE id = $1 AND cursor IS NOT DISTINCT FROM $5 RETURNING id) SELECT id FROM u`,
      [id, to, done, failed, from],
    );
    return rows.length > 0;
  }

  /**
   * Adds counts without moving the cursor: the redeliveries of a batch whose cursor move another try of the same
   * batch made first (each counts only the deliveries it claimed, so the two never count one delivery twice).
   */
  async addCounts(id: string, done: number, failed: number): Promise<void> {
    if (done || failed) await this.dataSource.query(`UPDATE recoveries SET done = done + $2, failed = failed + $3, updated_at = now() WHERE id = $1`, [id, done, failed]);
  }

  /** Ends a recovery. */
  async finish(id: string, status: 'done' | 'failed', error?: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE recoveries SET status = $2, error = $3, finished_at = now(), updated_at = now() WHERE id = $1 AND status = 'running'`,
      [id, status, error ?? null],
    );
  }
}

function view(r: RecoveryRow): RecoveryView {
  return {
    id: r.id,
    status: r.status,
    filter: r.filter,
    total: r.total,
    done: r.done,
    failed: r.failed,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

/** The filter of a recovery on a query over deliveries `d`, less deliveries whose payload retention dropped (nothing left to send). */
export function applyRecoverable<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, filter: RecoveryFilter): void {
  applyFilter(qb, filter);
  qb.andWhere(deliveryPayloadKeptSql('d'));
}
