/**
 * Answers one question about a JSON Schema: can a dotted path (as a mustache tag reads it) ever hold a value?
 * Only a definite "no" counts: an object closed by `additionalProperties: false` without the field, or a field
 * read from a number or boolean. Anything the schema leaves open (no type, `$ref` we cannot resolve, open
 * objects) is allowed, so a save is never refused on a guess.
 */

/** Where a path stops existing: `index` is the first segment that can never resolve; `known` lists the fields there. */
export interface MissingPath {
  index: number;
  reason: 'no-such-field' | 'not-an-object';
  known: string[];
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 64;
const OBJECT_KEYWORDS = ['properties', 'additionalProperties', 'patternProperties', 'required'];

/** Undefined when `segments` can resolve under `schema` (or the schema cannot tell); otherwise where it stops. */
export function findMissingPath(schema: unknown, segments: readonly string[]): MissingPath | undefined {
  return walk(schema, segments, 0, schema, 0);
}

function walk(schema: unknown, segs: readonly string[], i: number, root: unknown, depth: number): MissingPath | undefined {
  if (i >= segs.length || depth > MAX_DEPTH) return undefined;
  if (schema === false) return { index: Math.max(i - 1, 0), reason: 'no-such-field', known: [] };
  if (!isSchema(schema)) return undefined;

  if (typeof schema.$ref === 'string') {
    const target = resolveLocalRef(root, schema.$ref);
    if (target === undefined) return undefined;
    const miss = walk(target, segs, i, root, depth + 1);
    if (miss) return miss;
  }
  if (Array.isArray(schema.allOf)) {
    for (const branch of schema.allOf) {
      const miss = walk(branch, segs, i, root, depth + 1);
      if (miss) return miss;
    }
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches) || branches.length === 0) continue;
    const misses = branches.map((branch) => walk(branch, segs, i, root, depth + 1));
    if (misses.every((miss) => miss !== undefined)) return misses[0];
  }
  return walkOwnKeywords(schema, segs, i, root, depth);
}

function walkOwnKeywords(schema: Schema, segs: readonly string[], i: number, root: unknown, depth: number): MissingPath | undefined {
  const types = declaredTypes(schema);
  if (types === undefined) return undefined;
  const misses: MissingPath[] = [];
  for (const type of types) {
    const miss = walkType(type, schema, segs, i, root, depth);
    if (miss === undefined) return undefined; // one allowed type that can hold the path is enough
    misses.push(miss);
  }
  return misses.find((miss) => miss.reason === 'no-such-field') ?? misses[0];
}

function walkType(type: string, schema: Schema, segs: readonly string[], i: number, root: unknown, depth: number): MissingPath | undefined {
  switch (type) {
    case 'object':
      return walkObject(schema, segs, i, root, depth);
    case 'array':
      return walkArray(schema, segs, i, root, depth);
    case 'string':
      // Mustache reads properties of boxed strings, so `title.length` and `title.0` do resolve.
      return segs[i] === 'length' || /^\d+$/.test(segs[i]) ? scalarRest(segs, i) : notAnObject(i);
    default:
      return notAnObject(i);
  }
}

function walkObject(schema: Schema, segs: readonly string[], i: number, root: unknown, depth: number): MissingPath | undefined {
  const seg = segs[i];
  const properties = isSchema(schema.properties) ? schema.properties : {};
  if (Object.prototype.hasOwnProperty.call(properties, seg)) {
    if (properties[seg] === false) return { index: i, reason: 'no-such-field', known: knownFields(properties) };
    return walk(properties[seg], segs, i + 1, root, depth + 1);
  }
  if (isSchema(schema.patternProperties)) {
    for (const [pattern, sub] of Object.entries(schema.patternProperties)) {
      if (safeTest(pattern, seg)) return walk(sub, segs, i + 1, root, depth + 1);
    }
  }
  const additional = schema.additionalProperties;
  if (additional === false) return { index: i, reason: 'no-such-field', known: knownFields(properties) };
  return isSchema(additional) ? walk(additional, segs, i + 1, root, depth + 1) : undefined;
}

function walkArray(schema: Schema, segs: readonly string[], i: number, root: unknown, depth: number): MissingPath | undefined {
  const seg = segs[i];
  if (seg === 'length') return scalarRest(segs, i);
  if (!/^\d+$/.test(seg)) return notAnObject(i);
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : undefined;
  const itemSchema = prefix && Number(seg) < prefix.length ? prefix[Number(seg)] : schema.items;
  return walk(itemSchema, segs, i + 1, root, depth + 1);
}

/** `length` is a number: nothing can be read below it. */
function scalarRest(segs: readonly string[], i: number): MissingPath | undefined {
  return i + 1 < segs.length ? notAnObject(i + 1) : undefined;
}

function notAnObject(index: number): MissingPath {
  return { index, reason: 'not-an-object', known: [] };
}

function declaredTypes(schema: Schema): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  if (OBJECT_KEYWORDS.some((key) => key in schema)) return ['object'];
  if ('items' in schema || 'prefixItems' in schema) return ['array'];
  return undefined;
}

function resolveLocalRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isSchema(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

function knownFields(properties: Schema): string[] {
  return Object.keys(properties).filter((key) => properties[key] !== false);
}

function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return true; // a pattern we cannot compile might match: allow
  }
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
