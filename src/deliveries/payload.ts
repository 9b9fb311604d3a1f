/**
 * Where a delivery's payload is (issue 21 item 5; docs/DESIGN.md decision 16): on its emission, stored once
 * for all the deliveries of an event. Rows from before that change, and rows written while
 * DELIVERY_PAYLOAD_COPY is on (the rolling upgrade: workers of the previous release read `deliveries.payload`),
 * also carry a copy in `deliveries.payload`; rows written with the copy off hold NULL there.
 *
 * Every reader goes through these expressions, over a delivery `d` and its emission `e`
 * (`LEFT JOIN emissions e ON e.id = d.emission_id`), so they all agree:
 * - the delivery's own purge mark wins: retention dropped its payload (and its exchanges), it shows `{}`;
 * - else the emission's payload while the emission keeps it;
 * - else the delivery's own copy, when it has one (a row from before the change whose emission's payload an
 *   earlier retention dropped while the delivery kept its copy: it was touched after the cut-off);
 * - else `{}`, purged when the emission's payload was.
 */

/** The payload a delivery shows and sends (jsonb, never null). */
export function deliveryPayloadSql(d = 'd', e = 'e'): string {
  return `CASE WHEN ${d}.payload_purged_at IS NOT NULL THEN '{}'::jsonb
            WHEN ${e}.payload_purged_at IS NULL AND ${e}.payload IS NOT NULL THEN ${e}.payload
            ELSE COALESCE(${d}.payload, '{}'::jsonb) END`;
}

/** When the payload a delivery shows was dropped by retention (timestamptz), or null while it is kept. */
export function deliveryPayloadPurgedAtSql(d = 'd', e = 'e'): string {
  return `COALESCE(${d}.payload_purged_at, CASE WHEN ${d}.payload IS NULL THEN ${e}.payload_purged_at END)`;
}

/**
 * True while a delivery `d` still has its payload, without a join (a correlated look at its emission); the
 * same answer as `deliveryPayloadPurgedAtSql(...) IS NULL`. `d.payload IS NOT NULL` reads the row's null
 * bitmap only, never the (TOASTed) value.
 */
export function deliveryPayloadKeptSql(d = 'd'): string {
  return `(${d}.payload_purged_at IS NULL AND (${d}.payload IS NOT NULL OR NOT EXISTS (
            SELECT 1 FROM emissions pe WHERE pe.id = ${d}.emission_id AND pe.payload_purged_at IS NOT NULL)))`;
}

/**
 * Whether new delivery rows also get a copy of their emission's payload (DELIVERY_PAYLOAD_COPY). On in this
 * release: a worker of the previous release, still running during a rolling upgrade, reads the payload from
 * `deliveries.payload` only. Turn it off once no process of an earlier release runs (docs/operations.md
 * "Upgrading"); the next release stops writing the copy and drops the column.
 */
export const DEFAULT_PAYLOAD_COPY = true;
