/** The schema keyword naming the config fields a secret is sent to (see secretMeta). */
export const SECRET_BOUND_TO = 'x-bound-to';

/**
 * Marks a schema field as a secret: `.meta(SECRET_META)`. Encrypted at rest, masked on every read, never
 * echoed (src/secrets/fields.ts finds the marked fields in the schema's JSON Schema). Use secretMeta()
 * instead for a secret sent to a configurable destination.
 */
export const SECRET_META = { 'x-secret': true, writeOnly: true } as const;

/**
 * The `.meta()` of a secret field bound to its destination. `boundTo` names the config fields (dot paths
 * from the schema's root) saying where the secret is sent, e.g. `['apiBaseUrl']` for a bot token. A PATCH
 * that moves one of them to another origin (any change, for a field that is not a URL, such as a script's
 * source) must give the secret again, or it answers 400.
 */
export function secretMeta(options: { boundTo?: readonly string[] } = {}): Record<string, unknown> {
  const boundTo = options.boundTo ?? [];
  return { ...SECRET_META, ...(boundTo.length ? { [SECRET_BOUND_TO]: [...boundTo] } : {}) };
}
