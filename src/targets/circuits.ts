import type { DataSource } from 'typeorm';
import { preparedQuery } from '../database/prepared';

/** The circuit's thresholds (src/config.ts `targetHealth`, read from TARGET_* variables). */
export interface CircuitSettings {
  failureRatio: number;
  minAttempts: number;
  windowMs: number;
  cooldownMs: number;
  pauseAfterMs: number;
}

/** May an attempt to this target go now? `probe`: it is the one attempt let through an open circuit. */
export type Gate = { pass: true; probe: boolean } | { pass: false; waitMs: number };

/** How an attempt counts for its target's health: a failure is a retryable one the target caused. */
export type HealthOutcome = 'ok' | 'failed' | 'neutral';

/** What recording an outcome changed, for the hub's own events. */
export interface HealthChange {
  /** The circuit opened (the threshold was passed). */
  opened: boolean;
  /** The circuit closed again after being open (a probe or an operator's attempt succeeded). */
  recovered: boolean;
  /** Subscriptions paused by this outcome because the target has been failing for too long. */
  paused: string[];
  failureRate?: number;
}

/** How long a probe holds the half-open circuit before another attempt may probe (its activity died). */
const PROBE_LEASE_MS = 150_000;
/** How often attempts waiting behind a probe look again. */
const HALF_OPEN_POLL_MS = 5_000;

/**
 * One circuit per target in PostgreSQL (docs: README "Target health and hub events"): outcomes in a
 * sliding window open it, an open circuit holds attempts until the cool-down, then lets one probe through;
 * the probe's success closes it, its failure opens it for another cool-down. Shared by every worker.
 */
export class Circuits {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: CircuitSettings,
  ) {}

  /** Decides whether an attempt to `targetKey` goes now; takes the probe when the cool-down is over. */
  async gate(targetKey: string): Promise<Gate> {
    const rows: { state: string; probe: boolean; wait_ms: number | null }[] = await this.dataSource.query(
      `WITH cur AS (SELECT state, probe_at, probe_until FROM target_health WHERE target_key = $1),
       take AS (
         UPDATE target_health SET state = 'half_open', probe_until = now() + make_interval(secs => $2::float8 / 1000), updated_at = now()
          WHERE target_key = $1 AND ((state = 'open' AND probe_at <= now()) OR (state = 'half_open' AND probe_until <= now()))
          RETURNING 1)
       SELECT cur.state, EXISTS (SELECT 1 FROM take) AS probe,
              EXTRACT(EPOCH FROM ((CASE WHEN cur.state = 'open' THEN cur.probe_at ELSE cur.probe_until END) - now())) * 1000 AS wait_ms
         FROM cur`,
      [targetKey, PROBE_LEASE_MS],
    );
    const row = rows[0];
    if (!row || row.state === 'closed') return { pass: true, probe: false };
    if (row.probe) return { pass: true, probe: true };
    const remaining = Math.max(0, Number(row.wait_ms ?? 0));
    // spread the waiters a little, so they do not all come back at the same instant
    const waitMs = row.state === 'open' ? remaining + Math.round(Math.random() * 1_000) : Math.min(remaining, HALF_OPEN_POLL_MS);
    return { pass: false, waitMs: Math.max(250, Math.round(waitMs)) };
  }

  /** Records an attempt's outcome for its target and moves the circuit; pauses long-failing subscriptions. */
  async record(targetKey: string, provider: string, subscriptionId: string, outcome: HealthOutcome, subscriptionTargetKey?: string | null): Promise<HealthChange> {
    const change: HealthChange = { opened: false, recovered: false, paused: [] };
    // the subscription's target, for the listing and for pausing: written when it changed (not looked at again
    // when the caller read it with the delivery and it is the same)
    if (subscriptionTargetKey !== targetKey) await preparedQuery(this.dataSource, `UPDATE subscriptions SET target_key = $2 WHERE id = $1 AND target_key IS DISTINCT FROM $2`, [subscriptionId, targetKey]);
    if (outcome === 'neutral') return change;
    const ok = outcome === 'ok';
    const c = this.config;
    const rows = await preparedQuery<{ prev_state: string | null; state: string; failing_since: Date | null }>(
      this.dataSource,
      `WITH prev AS (SELECT state FROM target_health WHERE target_key = $1),
       up AS (
         INSERT INTO target_health (target_key, provider, state, failing_since, last_success_at, last_failure_at)
         VALUES ($1, $2, 'closed', CASE WHEN $3 THEN NULL ELSE now() END, CASE WHEN $3 THEN now() END, CASE WHEN $3 THEN NULL ELSE now() END)
         ON CONFLICT (target_key) DO UPDATE SET
           state = CASE WHEN $3 THEN 'closed' WHEN target_health.state = 'half_open' THEN 'open' ELSE target_health.state END,
           probe_at = CASE WHEN $3 THEN NULL WHEN target_health.state = 'half_open' THEN now() + make_interval(secs => $4::float8 / 1000) ELSE target_health.probe_at END,
           probe_until = CASE WHEN $3 OR target_health.state = 'half_open' THEN NULL ELSE target_health.probe_until END,
           opened_at = CASE WHEN $3 THEN NULL ELSE target_health.opened_at END,
           window_from = CASE WHEN $3 AND target_health.state <> 'closed' THEN now() ELSE target_health.window_from END,
           failing_since = CASE WHEN $3 THEN NULL ELSE COALESCE(target_health.failing_since, now()) END,
           paused_at = CASE WHEN $3 THEN NULL ELSE target_health.paused_at END,
           last_success_at = CASE WHEN $3 THEN now() ELSE target_health.last_success_at END,
           last_failure_at = CASE WHEN $3 THEN target_health.last_failure_at ELSE now() END,
           updated_at = now()
         RETURNING state, failing_since
       ), ins AS (INSERT INTO target_outcomes (target_key, ok) VALUES ($1, $3))
       SELECT (SELECT state FROM prev) AS prev_state, up.state, up.failing_since FROM up`,
      [targetKey, provider, ok, c.cooldownMs],
    );
    const row = rows[0];
    if (Math.random() < PRUNE_CHANCE) {
      await this.dataSource.query(`DELETE FROM target_outcomes WHERE target_key = $1 AND at < now() - make_interval(secs => $2::float8 / 1000)`, [targetKey, c.windowMs]);
    }
    if (ok) {
      change.recovered = row.prev_state === 'open' || row.prev_state === 'half_open';
      return change;
    }
    if (row.state === 'closed') {
      const opened: { failure_rate: number }[] = await this.dataSource.query(
        `WITH w AS (
           SELECT count(*) AS total, count(*) FILTER (WHERE NOT o.ok) AS failed
             FROM target_outcomes o, target_health t
            WHERE t.target_key = $1 AND o.target_key = $1
              AND o.at > GREATEST(now() - make_interval(secs => $2::float8 / 1000), COALESCE(t.window_from, '-infinity'::timestamptz))
         ), u AS (
           UPDATE target_health t SET state = 'open', opened_at = now(), probe_at = now() + make_interval(secs => $5::float8 / 1000), updated_at = now()
             FROM w
            WHERE t.target_key = $1 AND t.state = 'closed' AND w.total >= $3::int AND w.failed >= $4::float8 * w.total
            RETURNING w.failed::float8 / w.total AS failure_rate)
         SELECT failure_rate FROM u`,
        [targetKey, c.windowMs, c.minAttempts, c.failureRatio, c.cooldownMs],
      );
      if (opened[0]) {
        change.opened = true;
        change.failureRate = Number(opened[0].failure_rate);
      }
    }
    if (row.failing_since && Date.now() - row.failing_since.getTime() >= c.pauseAfterMs) {
      const paused: { id: string }[] = await this.dataSource.query(
        `WITH u AS (UPDATE subscriptions SET paused_reason = $2, updated_at = now()
          WHERE target_key = $1 AND enabled AND paused_reason IS NULL RETURNING id) SELECT id FROM u`,
        [targetKey, `Paused by target health: ${targetKey} has had no successful attempt since ${row.failing_since.toISOString()}; resume it (PATCH enabled: true) once the target is fixed`],
      );
      if (paused.length) await this.dataSource.query(`UPDATE target_health SET paused_at = now() WHERE target_key = $1`, [targetKey]);
      change.paused = paused.map((p) => p.id);
    }
    return change;
  }
}

/** How often a recorded outcome also deletes its target's outcomes older than the window. */
const PRUNE_CHANCE = 0.05;

/** How an attempt result counts for target health: rate limits and the hub's own refusals are not the target failing. */
export function healthOutcomeOf(result: { outcome: string; httpStatus?: number; errorCode?: string }): HealthOutcome {
  if (result.outcome === 'success') return 'ok';
  if (result.outcome !== 'retryable') return 'neutral';
  if (result.httpStatus === 429 || result.errorCode === 'rate_limited' || result.errorCode === 'ssrf_blocked') return 'neutral';
  return 'failed';
}
