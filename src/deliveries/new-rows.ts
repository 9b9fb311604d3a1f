/**
 * The one way delivery rows are created (issue 21 item 4): ingest, test sends and replays insert through
 * this builder, so the columns a new delivery starts with (id, initial status, workflow id, timestamps) are
 * written in one place. It builds `INSERT INTO deliveries (...) SELECT ... <from> [tail] RETURNING ...`: one
 * row per subscription `s` the `from` clause yields, with the emission's columns given as SQL expressions.
 */
interface NewDeliveryRows {
  /** SQL expressions for the emission the deliveries are of (its id, event type, system ids, payload). */
  emission: { id: string; event: string; systemIds: string; payload: string };
  /**
   * Whether the rows also get a copy of the payload in `deliveries.payload` (DELIVERY_PAYLOAD_COPY, for
   * workers of the previous release during a rolling upgrade); otherwise NULL: the payload is read from the
   * emission (src/deliveries/payload.ts).
   */
  payloadCopy: boolean;
  /** `FROM ... WHERE ...` yielding the matched subscriptions as `s` (and whatever the expressions read). */
  from: string;
  /** A test send (`POST /subscriptions/{id}/test`): never counted as a real delivery. Default false. */
  test?: boolean;
  /** Further columns a caller sets, with their SQL expressions (ingest's ordered follow-ups: subject_key, ...). */
  extra?: Record<string, string>;
  /** After the SELECT: `ORDER BY`, `ON CONFLICT ... DO NOTHING`. */
  tail?: string;
  /** The `RETURNING` list. */
  returning: string;
}

/** The initial status of every new delivery. */
const NEW_DELIVERY_STATUS = 'pending';

/** The workflow id of a delivery, in SQL: `delivery:<emission id>:<subscription id>` (one per emission and subscription). */
function deliveryWorkflowIdSql(emissionId: string, subscriptionId: string): string {
  return `'delivery:' || ${emissionId} || ':' || ${subscriptionId}`;
}

/** The statement that inserts the new delivery rows (see NewDeliveryRows). */
export function insertDeliveriesSql(r: NewDeliveryRows): string {
  // created_at in milliseconds, as the delivery list's cursor carries it
  const now = `date_trunc('milliseconds', now())`;
  const columns: [string, string][] = [
    ['id', `'dlv_' || replace(gen_random_uuid()::text, '-', '')`],
    ['subscription_id', 's.id'],
    ['provider', 's.provider'],
    ['event', r.emission.event],
    ['emission_id', r.emission.id],
    ['system_ids', r.emission.systemIds],
    ['payload', r.payloadCopy ? r.emission.payload : 'NULL'],
    ['status', `'${NEW_DELIVERY_STATUS}'`],
    ['attempts', '0'],
    ['workflow_id', deliveryWorkflowIdSql(r.emission.id, 's.id')],
    ['workflow_started', 'false'],
    ['test', r.test ? 'true' : 'false'],
    ['created_at', now],
    ['updated_at', now],
    ...Object.entries(r.extra ?? {}),
  ];
  return `INSERT INTO deliveries (${columns.map(([c]) => c).join(', ')})
         SELECT ${columns.map(([, v]) => v).join(',\n                ')}
         ${r.from}
         ${r.tail ?? ''}
         RETURNING ${r.returning}`;
}
