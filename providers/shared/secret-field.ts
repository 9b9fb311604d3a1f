/*
 * How a provider's schema marks its secret fields (SECRET_META, secretMeta) and how the host reads the marks
 * back from the schema's JSON Schema (secretPathsFromJsonSchema, secretBindingsFromJsonSchema): one module,
 * so the keywords are written and read in one place. What is done with the fields found (encrypt, mask,
 * merge on PATCH) is the host's: src/secrets/fields.ts.
 */

/** The schema keyword naming the config fields a secret is sent to (see secretMeta). */
const SECRET_BOUND_TO = 'x-bound-to';

/**
 * Marks a schema field as a secret: `.meta(SECRET_META)`. Encrypted at rest, masked on every read, never
 * echoed (secretPathsFromJsonSchema below finds the marked fields in the schema's JSON Schema). Use secretMeta()
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

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

const COMBINATORS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
const SAME_LEVEL = ['items', 'contains', 'not', 'if', 'then', 'else', 'unevaluatedItems'] as const;
const MAP_LEVEL = ['additionalProperties', 'unevaluatedProperties'] as const;

/** Resolves a local `$ref` (`#/$defs/X`, `#/definitions/X`) against the root schema. */
function resolveRef(root: Json, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  return ref
    .slice(1)
    .split('/')
    .slice(1)
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, seg) => (isPlainObject(node) ? node[seg] : undefined), root);
}

function containsSecret(node: unknown, root: Json, seen: Set<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => containsSecret(n, root, seen));
  if (!isPlainObject(node)) return false;
  if (node['x-secret'] === true) return true;
  if (typeof node.$ref === 'string' && !seen.has(node.$ref)) {
    seen.add(node.$ref);
    if (containsSecret(resolveRef(root, node.$ref), root, seen)) return true;
  }
  return Object.values(node).some((child) => containsSecret(child, root, seen));
}

/** Secret path -> the config fields it is bound to (`x-bound-to`), merged over every place it appears. */
type Found = Map<string, Set<string>>;

function collectSecrets(node: unknown, prefix: string[], root: Json, out: Found, refs: Set<string>): void {
  if (!isPlainObject(node)) return;
  // A secret is a leaf for our purposes: the whole value is encrypted and masked as one.
  if (node['x-secret'] === true) {
    if (prefix.length === 0) return;
    const path = prefix.join('.');
    const bound = out.get(path) ?? new Set<string>();
    if (Array.isArray(node[SECRET_BOUND_TO])) for (const f of node[SECRET_BOUND_TO] as unknown[]) if (typeof f === 'string') bound.add(f);
    out.set(path, bound);
    return;
  }
  const recurse = (child: unknown, at: string[]): void => collectSecrets(child, at, root, out, refs);
  if (typeof node.$ref === 'string') {
    const target = resolveRef(root, node.$ref);
    // Guarded per branch: recursion ends, yet a definition used in two places is found in both.
    if (!refs.has(node.$ref)) collectSecrets(target, prefix, root, out, new Set(refs).add(node.$ref));
    // A secret inside a recursion would sit at unboundedly many paths; refuse rather than miss one.
    else if (containsSecret(target, root, new Set())) {
      throw new Error(`secret fields inside the recursive schema ${node.$ref} (at "${prefix.join('.')}") are not supported`);
    }
  }
  for (const kw of COMBINATORS) if (Array.isArray(node[kw])) (node[kw] as unknown[]).forEach((c) => recurse(c, prefix));
  for (const kw of SAME_LEVEL) recurse(node[kw], prefix);
  for (const kw of MAP_LEVEL) recurse(node[kw], [...prefix, '*']);
  if (isPlainObject(node.patternProperties)) Object.values(node.patternProperties).forEach((c) => recurse(c, [...prefix, '*']));
  if (isPlainObject(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) recurse(child, [...prefix, key]);
  }
}

/**
 * Every secret field path of a JSON Schema: properties marked `"x-secret": true` (what zod's
 * `.meta({ 'x-secret': true, writeOnly: true })` emits), through nested objects, allOf/anyOf/oneOf
 * (discriminated unions), arrays and local $refs. Sorted, without duplicates.
 * Throws for a secret inside a recursive definition (it would have no finite list of paths).
 */
export function secretPathsFromJsonSchema(schema: unknown): string[] {
  return Object.keys(secretBindingsFromJsonSchema(schema)).sort();
}

/** Every secret field path of a JSON Schema (as secretPathsFromJsonSchema) with the fields it is bound to. */
export function secretBindingsFromJsonSchema(schema: unknown): Record<string, string[]> {
  if (!isPlainObject(schema)) return {};
  const out: Found = new Map();
  collectSecrets(schema, [], schema, out, new Set());
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, bound]) => [path, [...bound].sort()]));
}
