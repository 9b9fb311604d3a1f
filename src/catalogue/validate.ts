import { createHash } from 'node:crypto';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { RE2JS } from 're2js';
import { z } from 'zod';
import type { FieldProblem } from '../../providers/types';
import { EVENT_ID_PATTERN, type EventTypeDefinition } from './types';

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
/** A payload with hundreds of problems is not helped by hearing all of them. */
const MAX_PROBLEMS = 50;

type Logger = { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void };
const silent: Logger = { log() {}, warn() {}, error() {} };

// One Ajv per compiled schema: a domain schema's `$id` then cannot clash with another schema's
// (or with its own previous version), and replacing a schema frees everything it held.
// Meta-schema validation is off here (it costs ~150 ms per instance); checkJsonSchema does it once,
// on a shared instance, before any schema is stored.
function newAjv(logger: Logger = silent): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: false, logger, code: { regExp: linearRegExp } });
  addFormats(ajv);
  return ajv;
}

/**
 * `pattern` and `patternProperties` of domain schemas run on RE2 (re2js, pure JS): matching takes time linear in
 * the input, so a catastrophic pattern such as `^(a+)+$` cannot block the API (issue 19). RE2 has no lookaround
 * and no backreferences; PUT /events refuses a schema that uses them, naming the field (checkPatterns).
 */
const linearRegExp = Object.assign((pattern: string) => RE2JS.compile(RE2JS.translateRegExp(pattern)), { code: 'linearRegExp' });

/** Every `pattern` and `patternProperties` key of a schema that the linear-time engine refuses, by path. */
function checkPatterns(node: unknown, at: string): FieldProblem[] {
  if (Array.isArray(node)) return node.flatMap((el, i) => checkPatterns(el, `${at}.${i}`));
  if (!node || typeof node !== 'object') return [];
  const problems: FieldProblem[] = [];
  const refused = (pattern: string): string | undefined => {
    try {
      linearRegExp(pattern);
      return undefined;
    } catch (err) {
      return `is not supported: patterns run on a linear-time engine (RE2: no lookahead, lookbehind or backreferences): ${(err as Error).message}`.slice(0, 500);
    }
  };
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const path = `${at}.${key}`;
    if (key === 'pattern' && typeof value === 'string') {
      const why = refused(value);
      if (why) problems.push({ path, message: why });
      continue;
    }
    if (key === 'patternProperties' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const p of Object.keys(value)) {
        const why = refused(p);
        if (why) problems.push({ path: `${path}.${p}`, message: why });
      }
    }
    problems.push(...checkPatterns(value, path));
  }
  return problems.slice(0, MAX_PROBLEMS);
}

let metaAjv: Ajv2020 | undefined;
/** Shared instance used only for validateSchema, which never registers the schema it checks. */
function metaValidator(): Ajv2020 {
  metaAjv ??= addFormats(new Ajv2020({ allErrors: true, strict: false, logger: silent }));
  return metaAjv;
}

/** Stable JSON (sorted keys) so that equal schemas hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Short content hash of a schema: the "version" half of the validator cache key. */
export function schemaHash(schema: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex').slice(0, 16);
}

// Hashing is memoised per schema object so a hot ingest path does not re-serialise the schema;
// the compiled validator is kept per event id and replaced when the schema's hash changes.
const hashBySchema = new WeakMap<object, string>();
const validators = new Map<string, { hash: string; validate: ValidateFunction }>();

function compiledFor(eventId: string, schema: Record<string, unknown>): ValidateFunction {
  let hash = hashBySchema.get(schema);
  if (!hash) {
    hash = schemaHash(schema);
    hashBySchema.set(schema, hash);
  }
  const cached = validators.get(eventId);
  if (cached?.hash === hash) return cached.validate;
  let validate: ValidateFunction;
  try {
    validate = newAjv().compile(schema);
  } catch (err) {
    // A stored schema that does not compile is our fault (PUT /events checks it), not the sender's.
    throw new Error(`payloadSchema of event type ${eventId} does not compile: ${(err as Error).message}`);
  }
  validators.set(eventId, { hash, validate });
  return validate;
}

/** JSON Pointer (`/systemIds/0`) to a dotted path under `base` (`payload.systemIds.0`). */
function pointerToPath(base: string, pointer: string): string {
  if (!pointer) return base;
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return [base, ...segments].join('.');
}

/** One ajv error as a field problem with a path a person can follow and a message they can act on. */
function toProblem(base: string, e: ErrorObject): FieldProblem {
  const at = pointerToPath(base, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: `${at}.${String(p.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { path: `${at}.${String(p.additionalProperty)}`, message: 'is not allowed' };
    case 'enum':
      return { path: at, message: `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'format':
      return { path: at, message: `must be a valid ${String(p.format)}` };
    default:
      return { path: at, message: e.message ?? 'is invalid' };
  }
}

function toProblems(base: string, errors: ErrorObject[] | null | undefined): FieldProblem[] {
  const seen = new Set<string>();
  const out: FieldProblem[] = [];
  for (const e of errors ?? []) {
    const problem = toProblem(base, e);
    const key = `${problem.path}\0${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(problem);
    if (out.length >= MAX_PROBLEMS) break;
  }
  return out;
}

/**
 * Validates a payload against the event type's schema; `[]` when valid or when there is no schema.
 * Paths start at `basePath` (`payload.severity`, `payload.systemIds.0`).
 * Throws only when the stored schema itself does not compile.
 */
export function validatePayload(
  eventType: Pick<EventTypeDefinition, 'id' | 'payloadSchema'>,
  payload: unknown,
  basePath = 'payload',
): FieldProblem[] {
  if (!eventType.payloadSchema) return [];
  const validate = compiledFor(eventType.id, eventType.payloadSchema);
  return validate(payload) ? [] : toProblems(basePath, validate.errors);
}

/**
 * Checks a JSON Schema sent by a domain service: draft 2020-12 only, valid against the meta-schema,
 * compilable (refs resolve), and no unknown `format`. Problems are under `basePath` (`payloadSchema`).
 */
export function checkJsonSchema(schema: unknown, basePath = 'payloadSchema'): FieldProblem[] {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    return [{ path: basePath, message: 'must be a JSON Schema object' }];
  }
  const declared = (schema as Record<string, unknown>).$schema;
  if (declared !== undefined && declared !== DRAFT_2020_12 && declared !== `${DRAFT_2020_12}#`) {
    return [{ path: `${basePath}.$schema`, message: `only JSON Schema draft 2020-12 is supported (${DRAFT_2020_12})` }];
  }
  const meta = metaValidator();
  if (!meta.validateSchema(schema)) {
    // The meta-schema reports several alternatives per bad keyword; the first is the useful one.
    const firstPerPath = new Map<string, FieldProblem>();
    for (const p of toProblems(basePath, meta.errors)) if (!firstPerPath.has(p.path)) firstPerPath.set(p.path, p);
    return [...firstPerPath.values()];
  }
  const unsupported = checkPatterns(schema, basePath);
  if (unsupported.length) return unsupported;
  const warnings: string[] = [];
  const ajv = newAjv({ ...silent, warn: (...a: unknown[]) => warnings.push(a.map(String).join(' ')) });
  try {
    ajv.compile(schema);
  } catch (err) {
    return [{ path: basePath, message: (err as Error).message }];
  }
  // strict:false turns an unknown format into a warning and then ignores it; a typo like
  // "date_time" would silently accept anything, so it is reported here instead.
  const problems = new Map<string, FieldProblem>();
  for (const w of warnings) {
    const m = /^unknown format "(.*)" ignored in schema at path "#?(.*)"$/.exec(w);
    if (m) problems.set(m[2], { path: `${pointerToPath(basePath, m[2])}.format`, message: `unknown format "${m[1]}"` });
  }
  return [...problems.values()];
}

/** Checks an event id from `PUT /events/{id}`: `<owner>.<name>`, lower case. */
export function checkEventId(id: string): FieldProblem[] {
  if (id.length > 200) return [{ path: 'id', message: 'must be at most 200 characters' }];
  return EVENT_ID_PATTERN.test(id)
    ? []
    : [{ path: 'id', message: 'must look like <owner>.<name> (lower-case letters, digits, "-", "_")' }];
}

/** The `PUT /events/{id}` body. Unknown fields are rejected (docs/API.md conventions). */
export const eventTypeInputSchema = z
  .object({
    displayName: z.string().trim().min(1).max(200),
    description: z.string().max(4000),
    category: z.string().trim().min(1).max(100).optional(),
    payloadSchema: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'JSON Schema (draft 2020-12) that ingested payloads must match.' }),
    subjectKey: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'Payload field naming the subject; events with the same value are follow-ups.' }),
    resolves: z
      .boolean()
      .optional()
      .meta({ description: 'The event ends its subject (e.g. resolved): follow-up providers close the external record.' }),
    example: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Example payload; must match payloadSchema. Used for test sends.' }),
  })
  .strict();

/** A parsed `PUT /events/{id}` body. */
export type EventTypeInput = z.infer<typeof eventTypeInputSchema>;

/**
 * Checks that go beyond the zod shape: the schema is a usable JSON Schema, the example matches it,
 * and `subjectKey` names a property of the schema (when it lists properties) and of the example.
 */
export function checkEventTypeInput(input: EventTypeInput): FieldProblem[] {
  const { payloadSchema, example, subjectKey } = input;
  if (payloadSchema) {
    const schemaProblems = checkJsonSchema(payloadSchema);
    if (schemaProblems.length > 0) return schemaProblems;
  }
  const problems: FieldProblem[] = [];
  const properties = payloadSchema?.properties;
  const has = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);
  if (subjectKey && properties && typeof properties === 'object' && !has(properties, subjectKey)) {
    problems.push({ path: 'subjectKey', message: 'must name a property of payloadSchema' });
  }
  if (example && payloadSchema) {
    // Not cached under the real id: this schema is not stored yet and may never be.
    problems.push(...validatePayloadOnce(payloadSchema, example, 'example'));
  }
  if (example && subjectKey && (!has(example, subjectKey) || example[subjectKey] === undefined)) {
    problems.push({ path: `example.${subjectKey}`, message: 'is required (it is the subjectKey)' });
  }
  return problems;
}

function validatePayloadOnce(schema: Record<string, unknown>, payload: unknown, basePath: string): FieldProblem[] {
  const validate = newAjv().compile(schema);
  return validate(payload) ? [] : toProblems(basePath, validate.errors);
}
