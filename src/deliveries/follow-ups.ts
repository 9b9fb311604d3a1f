import type { DataSource } from 'typeorm';

/** This delivery's part in the follow-up of its subject (docs/DESIGN.md decision 7). */
export type FollowUpRole =
  | { role: 'creator'; recordId: string }
  | { role: 'follower'; recordId: string; externalId: string }
  | { role: 'wait'; creatingDeliveryId: string };

/**
 * Claims or finds the external record for (provider, target, subject). The first delivery inserts a
 * claim and creates the record; later ones update it. While the creator is still pending or retrying,
 * others wait; a creator that failed (or succeeded without an id) hands the claim to the next delivery.
 */
export async function claimFollowUp(
  ds: DataSource,
  key: { provider: string; targetKey: string; subject: string },
  deliveryId: string,
): Promise<FollowUpRole> {
  const inserted: { id: string }[] = await ds.query(
    `INSERT INTO external_records (provider, target_key, subject, creating_delivery_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (provider, target_key, subject) DO NOTHING RETURNING id`,
    [key.provider, key.targetKey, key.subject, deliveryId],
  );
  if (inserted[0]) return { role: 'creator', recordId: String(inserted[0].id) };
  const rows: { id: string; external_id: string | null; creating_delivery_id: string; creator_status: string | null }[] = await ds.query(
    `SELECT r.id, r.external_id, r.creating_delivery_id, d.status AS creator_status
     FROM external_records r LEFT JOIN deliveries d ON d.id = r.creating_delivery_id
     WHERE r.provider = $1 AND r.target_key = $2 AND r.subject = $3`,
    [key.provider, key.targetKey, key.subject],
  );
  const r = rows[0];
  if (!r) return claimFollowUp(ds, key, deliveryId); // removed between our insert and select: try again
  if (r.external_id) return { role: 'follower', recordId: String(r.id), externalId: r.external_id };
  if (r.creating_delivery_id === deliveryId) return { role: 'creator', recordId: String(r.id) };
  if (r.creator_status === 'pending' || r.creator_status === 'retrying') {
    return { role: 'wait', creatingDeliveryId: r.creating_delivery_id };
  }
  // the creator is done without a record: take the claim over (only one taker wins)
  // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count] (always 2 long)
  const taken: unknown[] = await ds.query(
    `WITH u AS (UPDATE external_records SET creating_delivery_id = $2, updated_at = now()
     WHERE id = $1 AND external_id IS NULL AND creating_delivery_id = $3 RETURNING id) SELECT id FROM u`,
    [r.id, deliveryId, r.creating_delivery_id],
  );
  return taken.length ? { role: 'creator', recordId: String(r.id) } : claimFollowUp(ds, key, deliveryId);
}

/** Claims of external records, as the attempt logic uses them (see claimFollowUp). */
export interface FollowUpClaims {
  claim(key: { provider: string; targetKey: string; subject: string }, deliveryId: string): Promise<FollowUpRole>;
}

/** The follow-up claims over PostgreSQL. */
export function followUpClaims(ds: DataSource): FollowUpClaims {
  return { claim: (key, deliveryId) => claimFollowUp(ds, key, deliveryId) };
}
