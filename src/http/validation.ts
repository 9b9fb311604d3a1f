import type { z } from 'zod';
import type { FieldProblem } from '../../providers/types';
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

/** Every string (and key) below `value` that holds a NUL character, which PostgreSQL cannot store or compare. */
function nulPaths(value: unknown, at: string, out: string[]): string[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push(at);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nulPaths(v, `${at}.${i}`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = at ? `${at}.${k.replace(/\u0000/g, '\\u0000')}` : k;
      if (k.includes('\u0000')) out.push(here);
      else nulPaths(v, here, out);
    }
  }
  return out;
}

/** Throws a 400 naming each field of a request part that contains a NUL character (`\u0000`). */
export function rejectNul(value: unknown, prefix: string): void {
  const paths = nulPaths(value, prefix, []);
  if (paths.length) throw badRequest(`The ${prefix} contains NUL characters`, paths.slice(0, 20).map((path) => ({ path, message: 'must not contain NUL characters (\\u0000)' })));
}
