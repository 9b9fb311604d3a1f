/**
 * Which subscriptions an emission goes to, as SQL: the one rule ingest applies at arrival and replay and the
 * "undelivered" list apply later. `s` names a `subscriptions` row; `event` and `systemIds` are SQL expressions
 * of the emission's event and `text[]` systems. A subscription with no systems takes every event of its type.
 */
export function matchesEmissionSql(s: string, event: string, systemIds: string): string {
  return `${s}.event = ${event} AND (${s}.system_ids = '{}' OR ${s}.system_ids && ${systemIds}::text[])`;
}

/** The subscription is taking deliveries now: enabled and not paused. */
export function isActiveSql(s: string): string {
  return `${s}.enabled AND ${s}.paused_reason IS NULL`;
}
