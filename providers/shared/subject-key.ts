import crypto from 'node:crypto';
import type { DeliveryContext } from '../types';

/**
 * A stable key for "the thing this event is about" that an alerting API dedupes on (PagerDuty
 * `dedup_key`, Opsgenie `alias`): `hub:<owner>:<subject>`, e.g. `hub:incident:inc_8f2c1a`, so every
 * event about one incident lands on the same alert even from different subscriptions. The owner is the
 * event type's family (`incident.updated` -> `incident`), as the follow-up records use it. Test sends
 * and events without a subject get a key of their own (`hub:delivery:<deliveryId>`), stable across
 * retries. Keys longer than `maxLength` keep a readable prefix and end in a hash of the whole key.
 */
export function subjectDedupKey(ctx: Pick<DeliveryContext, 'event' | 'deliveryId' | 'test'>, maxLength: number): string {
  const subject = ctx.event.subject;
  const key = subject !== undefined && !ctx.test ? `hub:${ctx.event.type.split('.')[0]}:${subject}` : `hub:delivery:${ctx.deliveryId}`;
  if (key.length <= maxLength) return key;
  const hash = crypto.createHash('sha256').update(key).digest('hex').slice(0, 32);
  return `${key.slice(0, Math.max(0, maxLength - hash.length - 1))}~${hash}`;
}

/** A short, one-way fingerprint of a secret: lets records name "the same key" without holding it. */
export function fingerprint(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
