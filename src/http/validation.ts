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
