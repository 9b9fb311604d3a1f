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
      // report the closest branch rather than "invalid input"
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      for (const sub of best) problems.push({ path: [at, ...sub.path.map(String)].join('.'), message: sub.message });
    } else {
      problems.push({ path: at, message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message });
    }
  }
  return problems;
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
