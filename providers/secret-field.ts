/**
 * Marks a schema field as a secret: `.meta(SECRET_META)`. Encrypted at rest, masked on every read, never
 * echoed (src/secrets/fields.ts finds the marked fields in the schema's JSON Schema).
 */
export const SECRET_META = { 'x-secret': true, writeOnly: true } as const;
