import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ProviderDefinition } from '../../providers/types';

// Ordered follow-ups (docs/DESIGN.md decision 12). Deliveries about one subject that edit one external record
// form a lane: they are attempted one at a time, in the order ingest accepted their events. Ingest gives each
// delivery of an event with a subject its subject key and a sequence number (under a lock on the subject, so
// the sequence follows commit order); the first attempt of a delivery names its lane (provider, follow-up
// target, subject) and waits while an earlier delivery of that lane is pending or retrying.

/** The longest subject value ingest takes (characters); longer ones are refused with a 400. */
export const MAX_SUBJECT_CHARS = 1024;

/** Subjects longer than this are kept as a hash in `external_records.subject` (a varchar(500)). */
const MAX_STORED_SUBJECT_CHARS = 200;

/** The subject value of an event: payload[subjectKey] when it is a string or a number. */
export function subjectValueOf(subjectKey: string | undefined | null, payload: Record<string, unknown>): string | undefined {
  if (!subjectKey) return undefined;
  const v = payload[subjectKey];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/** The owner of an event id (`incident.created` -> `incident`). */
function ownerOf(event: string): string {
  return event.split('.')[0];
}

/** What follow-up records are keyed by: the event's owner and subject; a hash past 200 characters. */
export function recordSubject(event: string, subject: string): string {
  const full = `${ownerOf(event)}:${subject}`;
  return full.length <= MAX_STORED_SUBJECT_CHARS ? full : `sha256:${sha256(full)}`;
}

/** The subject key stored on deliveries (hex SHA-256 of owner and value: fixed length, any subject). */
export function subjectKeyOf(event: string, subject: string): string {
  return sha256(`${ownerOf(event)}:${subject}`);
}

/** The lane of a delivery: its provider, the follow-up target it edits records at, and its subject key. */
export function laneKeyOf(provider: string, target: string, subjectKey: string): string {
  return sha256(`${provider}\u0000${target}\u0000${subjectKey}`);
}

/**
 * The lane key of a delivery of a subject that belongs to no lane (its subscription keeps no follow-up record at
 * a target: an incoming webhook, say), written by its first attempt: lanes wait only for deliveries whose lane
 * is theirs or not known yet, so none waits behind it while it retries.
 */
export const NO_LANE = '-';

/**
 * Whether queued follow-ups of a subscription collapse into the newest: its own switch, else the provider's
 * default for this config (a mode may decide: edits collapse, thread replies do not).
 */
export function coalesces(def: Pick<ProviderDefinition, 'coalesceFollowUps'>, config: Record<string, unknown>, own: boolean | null | undefined): boolean {
  if (own !== null && own !== undefined) return own;
  const d = def.coalesceFollowUps;
  return typeof d === 'function' ? d(config) : d ?? false;
}

/** A 64-bit advisory lock id for a subject key (ingest holds it while it reads the lane sequence). */
export function subjectLockId(subjectKey: string): string {
  return BigInt.asIntN(64, BigInt(`0x${subjectKey.slice(0, 16)}`)).toString();
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A laned delivery as the lane queries need it. */
interface LaneMember {
  id: string;
  subscriptionId: string;
  provider: string;
  subjectKey: string;
  laneSeq: string;
}

/** What the lane says before an attempt. */
type LaneTurn =
  /** An earlier delivery of the lane is pending or retrying: wait for it (recorded in `waiting_for`). */
  | { kind: 'wait'; deliveryId: string }
  /** This delivery's turn; `newer` names the next queued delivery of the lane when this one follows up. */
  | { kind: 'go'; newer?: string };

/** The lane queries over PostgreSQL. */
export class Lanes {
  constructor(private readonly ds: DataSource) {}

  /**
   * Names this delivery's lane and looks at it, in one statement: the latest earlier delivery of the lane
   * that is still pending or retrying (an earlier delivery of the subject whose lane is not known yet counts:
   * its first attempt has not run), which this one then waits for; else the next queued delivery of the lane
   * when an earlier one exists (this delivery is a follow-up, so a newer state may replace it).
   */
  async turn(d: LaneMember, laneKey: string): Promise<LaneTurn> {
    const rows: { ahead: string | null; newer: string | null; follows: boolean }[] = await this.ds.query(
      `WITH ahead AS (
         SELECT id FROM deliveries
          WHERE subject_key = $3 AND provider = $4 AND lane_seq < $5 AND status IN ('pending','retrying')
            AND (lane_key = $2 OR lane_key IS NULL) AND id <> $1
          ORDER BY lane_seq DESC LIMIT 1
       ), newer AS (
         SELECT id FROM deliveries
          WHERE subject_key = $3 AND provider = $4 AND lane_seq > $5 AND status IN ('pending','retrying')
            AND (lane_key = $2 OR (lane_key IS NULL AND subscription_id = $6))
          ORDER BY lane_seq LIMIT 1
       ), me AS (
         UPDATE deliveries SET lane_key = $2, waiting_for = (SELECT id FROM ahead)
          WHERE id = $1 AND (lane_key IS DISTINCT FROM $2 OR waiting_for IS DISTINCT FROM (SELECT id FROM ahead))
       )
       SELECT (SELECT id FROM ahead) AS ahead, (SELECT id FROM newer) AS newer,
              EXISTS (SELECT 1 FROM deliveries WHERE lane_key = $2 AND lane_seq < $5 AND id <> $1) AS follows`,
      [d.id, laneKey, d.subjectKey, d.provider, d.laneSeq, d.subscriptionId],
    );
    const r = rows[0];
    if (r.ahead) return { kind: 'wait', deliveryId: r.ahead };
    return r.follows && r.newer ? { kind: 'go', newer: r.newer } : { kind: 'go' };
  }

  /**
   * Records that a delivery of a subject belongs to no lane (see NO_LANE), at its first attempt; returns the
   * workflows that had started to wait behind it while its lane was unknown (to be woken).
   */
  async exclude(deliveryId: string): Promise<string[]> {
    const rows: { workflow_id: string }[] = await this.ds.query(
      `WITH u AS (UPDATE deliveries SET lane_key = $2, waiting_for = NULL WHERE id = $1 AND lane_key IS NULL RETURNING id)
       SELECT workflow_id FROM deliveries WHERE waiting_for = $1 AND EXISTS (SELECT 1 FROM u) AND status IN ('pending','retrying')`,
      [deliveryId, NO_LANE],
    );
    return rows.map((r) => r.workflow_id);
  }

  /**
   * Ends a delivery that was never sent because `byId`, later in its lane, carries the newer state of the
   * same record. False when it was no longer pending or retrying (cancelled meanwhile: that stands).
   */
  async supersede(deliveryId: string, byId: string): Promise<boolean> {
    // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count]
    const rows: unknown[] = await this.ds.query(
      `WITH u AS (
         UPDATE deliveries SET status = 'superseded', superseded_by = $2, waiting_for = NULL, next_retry_at = NULL,
                error = NULL, updated_at = now()
          WHERE id = $1 AND status IN ('pending','retrying') RETURNING id
       ) SELECT id FROM u`,
      [deliveryId, byId],
    );
    return rows.length > 0;
  }

  /**
   * The workflows to wake once `deliveryId` has ended: those waiting for it, and the next unfinished delivery
   * of its subject that may be of its lane (a waiter that had not recorded its wait yet).
   */
  async toWake(deliveryId: string): Promise<string[]> {
    const rows: { workflow_id: string }[] = await this.ds.query(
      `WITH me AS (SELECT subject_key, provider, lane_seq, lane_key FROM deliveries WHERE id = $1 AND subject_key IS NOT NULL)
       SELECT workflow_id FROM deliveries WHERE waiting_for = $1 AND status IN ('pending','retrying')
       UNION
       (SELECT d.workflow_id FROM deliveries d, me
         WHERE d.subject_key = me.subject_key AND d.provider = me.provider AND d.lane_seq > me.lane_seq
           AND d.status IN ('pending','retrying') AND (d.lane_key = me.lane_key OR d.lane_key IS NULL)
         ORDER BY d.lane_seq LIMIT 1)`,
      [deliveryId],
    );
    return rows.map((r) => r.workflow_id);
  }
}
