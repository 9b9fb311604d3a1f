import { ApplicationFailure } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import type { EventCatalogue } from '../catalogue/store';
import { safeErrorMessage, sanitise } from '../../providers/shared/sanitise';
import { storableJson, storableOptional, storableText } from '../../providers/shared/storable';
import type { DeliveryStatus } from '../../entities/delivery.entity';
import { deliveryPayloadSql } from './payload';
import { preparedQuery } from '../database/prepared';
import type { RetryPolicyInput } from '../../workflows/retry';
import { LOG_REFUSED_FAILURE, NOT_FOUND_FAILURE, type AttemptRecord, type StoredAttempt, type StoredExchange } from '../../workflows/types';

/**
 * The delivery log as the activities use it: one delivery loaded with everything an attempt needs, an
 * attempt written with the delivery's new state (atomic, idempotent), a cancellation. PostgreSQL only.
 */
export class DeliveryLog {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalogue: Pick<EventCatalogue, 'get'>,
    /** Told of each attempt this log inserted (metrics); never of a repeat. */
    private readonly observer?: DeliveryLogObserver,
  ) {}

  /**
   * Everything one attempt needs, in one query (a round trip to PostgreSQL costs more than the join):
   * the delivery, its emission (and the payload, stored there: src/deliveries/payload.ts), subscription,
   * connection and the provider's admin switch; undefined when the delivery does not exist.
   */
  async load(deliveryId: string): Promise<Loaded | undefined> {
    const rows = await preparedQuery<LoadedRow>(
      this.dataSource,
      `SELECT d.id, d.subscription_id, d.provider, d.event, d.emission_id, d.system_ids, ${deliveryPayloadSql('d', 'e')} AS payload, d.status, d.attempts,
              d.test, d.created_at, d.subject_key, d.lane_seq, e.occurred_at,
              s.id AS s_id, s.name AS s_name, s.config AS s_config, s.connection_id AS s_connection_id, s.retry_policy AS s_retry_policy,
              s.coalesce_follow_ups AS s_coalesce, s.target_key AS s_target_key,
              c.config AS c_config, ps.enabled AS provider_enabled,
              (SELECT m.token FROM attempt_marks m WHERE m.delivery_id = d.id) AS attempt_token
         FROM deliveries d
         LEFT JOIN emissions e ON e.id = d.emission_id
         LEFT JOIN subscriptions s ON s.id = d.subscription_id
         LEFT JOIN connections c ON c.id = s.connection_id
         LEFT JOIN provider_settings ps ON ps.id = d.provider
        WHERE d.id = $1`,
      [deliveryId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const eventType = await this.catalogue.get(row.event);
    return {
      delivery: {
        id: row.id,
        subscriptionId: row.subscription_id,
        provider: row.provider,
        event: row.event,
        emissionId: row.emission_id,
        systemIds: row.system_ids,
        payload: row.payload,
        status: row.status,
        attempts: row.attempts,
        test: row.test,
        createdAt: row.created_at,
        subjectKey: row.subject_key,
        laneSeq: row.lane_seq,
        attemptToken: row.attempt_token,
      },
      emission: row.occurred_at ? { occurredAt: row.occurred_at } : null,
      subscription: row.s_id
        ? {
            id: row.s_id,
            name: row.s_name!,
            config: row.s_config!,
            connectionId: row.s_connection_id,
            retryPolicy: row.s_retry_policy,
            coalesceFollowUps: row.s_coalesce,
            targetKey: row.s_target_key ?? null,
          }
        : null,
      connectionRow: row.c_config ? { config: row.c_config } : null,
      providerEnabled: row.provider_enabled ?? true,
      eventType,
    };
  }

  /**
   * Writes one attempt and the delivery's new state in one statement (atomic; one round trip); safe to
   * repeat. If that attempt is already in the log (a repeat, or a lost activity that had written it), the
   * stored record stands: nothing changes and the delivery's current state is returned.
   *
   * Every value is made storable first (storableRecord). Should PostgreSQL still refuse the row for what it
   * holds (SQLSTATE class 22, data exception, or 23, integrity violation: the same row fails every time),
   * the attempt is written instead as a `permanent` failure with code `log_write_refused` and the
   * delivery ends `failed`; `refused` then carries that reason. A write is never retried for ever.
   */
  async write(record: AttemptRecord): Promise<StoredAttempt & { refused?: string }> {
    const r = storableRecord(record);
    try {
      return await this.insert(r);
    } catch (err) {
      const code = deterministicCode(err);
      if (!code) throw err;
      const refused = storableText(
        `The attempt could not be stored (PostgreSQL refused it with SQLSTATE ${code}: ${safeErrorMessage(err)}); the delivery ends failed instead of retrying the write`,
        MAX_ERROR_CHARS,
      );
      try {
        return { ...(await this.insert(refusedRecord(r, refused))), refused };
      } catch (again) {
        if (!deterministicCode(again)) throw again;
        throw ApplicationFailure.nonRetryable(`the delivery log refused attempt ${r.attempt} twice: ${safeErrorMessage(again)}`, LOG_REFUSED_FAILURE);
      }
    }
  }

  private async insert(r: AttemptRecord): Promise<StoredAttempt> {
    const params: unknown[] = [
      r.deliveryId,
      r.attempt,
      new Date(r.startedAtMs),
      Math.round(r.durationMs),
      r.outcome,
      r.httpStatus ?? null,
      r.errorCode ?? null,
      r.error ?? null,
      r.log ?? null,
      r.trigger,
      r.status,
      r.nextRetryAtMs ? new Date(r.nextRetryAtMs) : null,
      r.externalId ?? null,
      r.status === 'success' ? null : (r.error ?? null),
    ];
    const p = (v: unknown) => `$${params.push(v)}`;
    // the attempt's HTTP exchanges (masked, cut to size), or null when it made none
    const exchanges = p(r.exchanges?.length ? JSON.stringify(r.exchanges) : null);
    // every side effect below happens only when this call inserted the attempt
    const extra: string[] = [];
    if (r.followUp && r.outcome === 'success' && r.externalId) {
      // the creator fills its claim; a follower records a replacement record (e.g. a re-posted message)
      extra.push(`follow AS (
        UPDATE external_records SET external_id = $13, updated_at = now()
         WHERE id = ${p(r.followUp.recordId)} AND (creating_delivery_id = $1 OR external_id IS NOT NULL) AND EXISTS (SELECT 1 FROM ins))`);
    }
    if (r.configUpdate && r.outcome === 'success') {
      extra.push(`cfg AS (
        UPDATE subscriptions SET config = config || ${p(JSON.stringify(storableJson(r.configUpdate.set)))}::jsonb, updated_at = now()
         WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1)
           AND config @> ${p(JSON.stringify(storableJson(r.configUpdate.was)))}::jsonb AND EXISTS (SELECT 1 FROM ins))`);
    } else if (r.pauseReason) {
      extra.push(`pause AS (
        UPDATE subscriptions SET paused_reason = ${p(r.pauseReason)}, updated_at = now()
         WHERE id = (SELECT subscription_id FROM deliveries WHERE id = $1) AND EXISTS (SELECT 1 FROM ins))`);
    }
    const rows = await preparedQuery<WrittenRow>(
      this.dataSource,
      `WITH ins AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, http_status, error_code, error, log, trigger, exchanges)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ${exchanges}::jsonb)
         ON CONFLICT (delivery_id, attempt) DO NOTHING RETURNING id
       ), upd AS (
         UPDATE deliveries SET status = $11, attempts = GREATEST(attempts, $2), last_attempt_at = $3,
                next_retry_at = $12, external_id = COALESCE($13, external_id), error = $14, waiting_for = NULL, updated_at = now()
          WHERE id = $1 AND EXISTS (SELECT 1 FROM ins)
       )${extra.map((x) => `, ${x}`).join('')}
       SELECT EXISTS (SELECT 1 FROM ins) AS inserted, d.status, d.next_retry_at, d.provider,
              EXTRACT(EPOCH FROM clock_timestamp() - e.received_at)::float8 AS since_received_s
         FROM (SELECT 1) one LEFT JOIN deliveries d ON d.id = $1 LEFT JOIN emissions e ON e.id = d.emission_id`,
      params,
    ).catch((err: { code?: string }) => {
      // the attempt's foreign key: the delivery row is gone, no retry writes it
      if (err?.code === FOREIGN_KEY_VIOLATION) throw notFound(r.deliveryId);
      throw err;
    });
    const row = rows[0];
    if (row.inserted && row.provider) {
      this.observer?.written({ provider: row.provider, previousStatus: row.status, status: r.status, secondsSinceReceived: row.since_received_s });
    }
    // the SELECT sees the rows as they were before this statement: the delivery's state when it inserted nothing
    if (row.inserted || !row.status || row.status === 'pending') {
      return { status: r.status, delayMs: Math.max(0, (r.nextRetryAtMs ?? 0) - Date.now()) };
    }
    return { status: row.status, delayMs: row.next_retry_at ? Math.max(0, row.next_retry_at.getTime() - Date.now()) : 0 };
  }

  /**
   * Marks the attempt a local activity is about to send (its token: run id and activity sequence), just before
   * the provider is called: that activity run again after its worker died finds its own token in load() and
   * logs the attempt as lost instead of sending it a second time unlogged. One row per delivery, overwritten.
   */
  async mark(deliveryId: string, token: string): Promise<void> {
    await preparedQuery(
      this.dataSource,
      `INSERT INTO attempt_marks (delivery_id, token) VALUES ($1, $2) ON CONFLICT (delivery_id) DO UPDATE SET token = EXCLUDED.token`,
      [deliveryId, token],
    );
  }

  /** Ends a delivery as cancelled by an operator. */
  async cancel(deliveryId: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE deliveries SET status = 'failed', next_retry_at = NULL, waiting_for = NULL, error = $2, updated_at = now() WHERE id = $1`,
      [deliveryId, storableText(sanitise(reason), MAX_ERROR_CHARS)],
    );
  }
}

/** Hears of attempts written to the log: the delivery's status before and after, and the seconds since its emission was received. */
export interface DeliveryLogObserver {
  written(w: { provider: string; previousStatus: string | null; status: string; secondsSinceReceived: number | null }): void;
}

/** The answer of write()'s statement: the delivery as it was before it. */
interface WrittenRow {
  inserted: boolean;
  status: StoredAttempt['status'] | 'pending' | null;
  next_retry_at: Date | null;
  provider: string | null;
  since_received_s: number | null;
}

/** A delivery_attempts-free view of one delivery and what it points at (see load). */
interface LoadedRow {
  id: string;
  subscription_id: string;
  provider: string;
  event: string;
  emission_id: string;
  system_ids: string[];
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  test: boolean;
  created_at: Date;
  subject_key: string | null;
  lane_seq: string | null;
  occurred_at: Date | null;
  s_id: string | null;
  s_name: string | null;
  s_config: Record<string, unknown> | null;
  s_connection_id: string | null;
  s_retry_policy: RetryPolicyInput | null;
  s_coalesce: boolean | null;
  s_target_key: string | null;
  c_config: Record<string, unknown> | null;
  provider_enabled: boolean | null;
  attempt_token: string | null;
}

/** One delivery and what it points at, as an attempt needs it (see DeliveryLog.load). */
export interface Loaded {
  delivery: {
    id: string;
    subscriptionId: string;
    provider: string;
    event: string;
    emissionId: string;
    systemIds: string[];
    payload: Record<string, unknown>;
    status: LoadedRow['status'];
    attempts: number;
    test: boolean;
    createdAt: Date;
    /** Set at ingest for events with a subject (ordered follow-ups); null otherwise. */
    subjectKey: string | null;
    laneSeq: string | null;
    /** The token of the local activity that last began sending an attempt (see mark); null: none has. */
    attemptToken?: string | null;
  };
  emission: { occurredAt: Date } | null;
  subscription: {
    id: string;
    name: string;
    config: Record<string, unknown>;
    connectionId: string | null;
    retryPolicy: RetryPolicyInput | null;
    /** The subscription's coalescing switch; null: the provider's default. */
    coalesceFollowUps: boolean | null;
    /** The target its attempts went to, as last recorded (target health keeps it); null: none yet. */
    targetKey?: string | null;
  } | null;
  connectionRow: { config: Record<string, unknown> } | null;
  providerEnabled: boolean;
  eventType: Awaited<ReturnType<EventCatalogue['get']>>;
}

/** The failure of an activity whose delivery row does not exist (the workflow ends instead of waiting). */
export function notFound(deliveryId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`delivery ${deliveryId} does not exist`, NOT_FOUND_FAILURE);
}

/** PostgreSQL's SQLSTATE for a foreign key violation. */
const FOREIGN_KEY_VIOLATION = '23503';

// Bounds of the delivery log's columns, in characters: varchar columns as the schema declares them, text
// columns where the hub draws the line (the sanitiser already cuts errors to 1000, script logs to 8000).
const MAX_ERROR_CODE_CHARS = 100; // delivery_attempts.error_code varchar(100)
const MAX_ERROR_CHARS = 2_000;
const MAX_LOG_CHARS = 16_000;
const MAX_EXTERNAL_ID_CHARS = 2_000;
const MAX_INT4 = 2_147_483_647;

/**
 * An attempt record whose every value PostgreSQL accepts: texts without NUL or lone surrogates and within
 * their column's bounds, numbers within their columns' ranges. The one place the log's values are made
 * storable; write() applies it before every INSERT and UPDATE.
 */
export function storableRecord(r: AttemptRecord): AttemptRecord {
  const finite = (n: number | undefined) => (typeof n === 'number' && Number.isFinite(n) ? n : undefined);
  return {
    ...r,
    startedAtMs: finite(r.startedAtMs) ?? Date.now(),
    durationMs: Math.min(MAX_INT4, Math.max(0, finite(r.durationMs) ?? 0)),
    httpStatus: Number.isInteger(r.httpStatus) && r.httpStatus! >= 0 && r.httpStatus! <= 999 ? r.httpStatus : undefined,
    nextRetryAtMs: finite(r.nextRetryAtMs),
    errorCode: storableOptional(r.errorCode, MAX_ERROR_CODE_CHARS),
    error: storableOptional(r.error, MAX_ERROR_CHARS),
    log: storableOptional(r.log, MAX_LOG_CHARS),
    externalId: storableOptional(r.externalId, MAX_EXTERNAL_ID_CHARS),
    pauseReason: storableOptional(r.pauseReason, MAX_ERROR_CHARS),
    exchanges: r.exchanges ? (storableJson(r.exchanges) as StoredExchange[]) : undefined,
  };
}

/** What is written instead of an attempt PostgreSQL refused: a final failure saying why, nothing from outside. */
function refusedRecord(r: AttemptRecord, reason: string): AttemptRecord {
  return {
    deliveryId: r.deliveryId,
    attempt: r.attempt,
    trigger: r.trigger,
    startedAtMs: r.startedAtMs,
    durationMs: r.durationMs,
    httpStatus: r.httpStatus,
    outcome: 'permanent',
    errorCode: 'log_write_refused',
    error: reason,
    status: 'failed',
  };
}

/**
 * The SQLSTATE of a database error that repeating the statement cannot cure: class 22 (data exception) or
 * 23 (integrity constraint violation); undefined for anything else (an outage is retried).
 */
function deterministicCode(err: unknown): string | undefined {
  if (err instanceof ApplicationFailure) return undefined;
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code) ? code : undefined;
}

