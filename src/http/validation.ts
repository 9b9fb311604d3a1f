import type { z } from 'zod';
import type { FieldProblem } from '../../providers/types';
import { storableText, unstorableReason } from '../../providers/shared/storable';
import { badRequest } from './problem';

/** Turns zod issues into problem+json field problems, prefixed with where the value came from. */
export function zodProblems(error: z.ZodError, prefix: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of error.issues) {
    const at = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: `${at}.${key}`, message: 'unknown field' });
    } else if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors) && issue.errors.length) {
      // report the closest branch rather than "invalid input"; when every branch wants another value at the
      // same place (a kind: Jira flavor, Teams mode), say which values it takes
      const kinds = issue.errors.map((branch) => (branch.length === 1 && branch[0].code === 'invalid_value' ? branch[0] : undefined));
      if (kinds.every(Boolean) && new Set(kinds.map((k) => k!.path.join('.'))).size === 1) {
        const values = kinds.flatMap((k) => (k!.code === 'invalid_value' ? k!.values : []));
        problems.push({ path: [at, ...kinds[0]!.path.map(String)].join('.'), message: `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
        continue;
      }
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      for (const sub of best) problems.push({ path: [at, ...sub.path.map(String)].join('.'), message: plainMessage(sub) });
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      // a discriminated union whose tag is missing or unknown (zod names no options here)
      problems.push({ path: at, message: 'is missing or not one of the kinds this config takes' });
    } else {
      problems.push({ path: at, message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : plainMessage(issue) });
    }
  }
  return problems;
}

/**
 * zod's default wording ("Too small: expected string to have >=1 characters") in plain words; a message a
 * schema set itself is kept as it is.
 */
function plainMessage(issue: z.core.$ZodIssue): string {
  if (!/^(Too small|Too big|Invalid option|Invalid input|Invalid string)\b/.test(issue.message)) return issue.message;
  const n = (v: number | bigint) => String(v);
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${n(issue.minimum)} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `needs at least ${n(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      return issue.inclusive === false ? `must be more than ${n(issue.minimum)}` : `must be at least ${n(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${n(issue.maximum)} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `takes at most ${n(issue.maximum)} items`;
      return issue.inclusive === false ? `must be less than ${n(issue.maximum)}` : `must be at most ${n(issue.maximum)}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `does not have the expected form (${String(issue.pattern)})` : `must be a valid ${issue.format}`;
    default:
      return issue.message;
  }
}

/** Parses `value` with `schema` or throws a 400 problem naming each wrong field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(`The ${prefix || 'request'} is invalid`, zodProblems(r.error, prefix));
  return r.data;
}

/**
 * How deep a JSON request body may nest (the body itself is level 1). Deeper bodies are refused with 400:
 * every layer that walks a value (validation, JSON Schema compilers, JSON.stringify, PostgreSQL's jsonb)
 * recurses, and a body 10 000 levels deep would overflow one of them. An event type's `payloadSchema` is
 * part of its PUT body, so the same bound holds for schemas.
 */
export const MAX_JSON_DEPTH = 64;

/** At most this many field problems are listed in one answer. */
const MAX_PROBLEMS = 20;

/**
 * What in a request part the hub would not store as it was sent, one problem per field: strings and keys
 * with a NUL character or a lone UTF-16 surrogate (PostgreSQL refuses both), numbers JSON cannot hold
 * (`1e400` parses to Infinity, which would be stored as null), keys named `__proto__` (dropped by any
 * JavaScript object copy), and nesting deeper than MAX_JSON_DEPTH. Iterative, so depth cannot overflow it.
 */
export function unstorableProblems(value: unknown, prefix: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: Array<{ v: unknown; at: string; depth: number }> = [{ v: value, at: prefix, depth: 0 }];
  while (stack.length && problems.length < MAX_PROBLEMS) {
    const { v, at, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorableReason(v);
      if (why) problems.push({ path: at, message: TEXT_PROBLEM[why] });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push({ path: at, message: 'is a number JSON cannot hold (out of range; it would be stored as null)' });
    } else if (v && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        problems.push({ path: at, message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
        continue;
      }
      const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
      const children: typeof stack = [];
      for (const [k, x] of entries) {
        const here = at ? `${at}.${storableText(k)}` : storableText(k);
        const why = Array.isArray(v) ? undefined : unstorableReason(k);
        if (why) problems.push({ path: here, message: `key ${TEXT_PROBLEM[why]}` });
        else if (k === '__proto__' && !Array.isArray(v)) problems.push({ path: here, message: 'the key __proto__ is not accepted (it would be dropped)' });
        else children.push({ v: x, at: here, depth: depth + 1 });
      }
      // pushed in reverse, so the values' problems come out in document order
      stack.push(...children.reverse());
    }
  }
  return problems.slice(0, MAX_PROBLEMS);
}

const TEXT_PROBLEM = {
  nul: 'must not contain NUL characters (\\u0000)',
  lone_surrogate: 'must be well-formed Unicode (a lone surrogate such as \\ud800 cannot be stored)',
} as const;

/** Throws a 400 naming each field of a request part that the hub cannot store as sent (see unstorableProblems). */
export function rejectUnstorable(value: unknown, prefix: string): void {
  const problems = unstorableProblems(value, prefix);
  if (problems.length) throw badRequest(`The ${prefix} has values the hub cannot store as sent`, problems);
}
