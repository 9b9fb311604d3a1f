import type { FieldProblem } from '../../providers/types';
import { keptSecrets } from './fields';

/*
 * A stored secret follows its destination only while the destination stays where it was (docs/security.md
 * "Security", docs/API.md "PATCH and secrets"). A provider binds each secret to the config fields that
 * say where it is sent (`"x-bound-to"` in its schema, see secretBindingsFromJsonSchema). When a PATCH
 * moves one of those fields to another origin, every secret bound to it must be given again in the same
 * request: otherwise anyone allowed to edit a config, but not to read its secrets, could send them to a
 * host of their choosing.
 */

type Json = Record<string, unknown>;

/** Secret path (as in secretPaths) -> config fields it is bound to. */
export type SecretBindings = Readonly<Record<string, readonly string[]>>;

/**
 * Where a bound field sends its secrets, for comparison. A URL (or a URL template whose scheme and host
 * are literal) counts by its origin, so a change of path or query keeps the secrets; a URL whose host is
 * templated counts by its scheme and authority as written; any other value (a script's source, a command)
 * counts as a whole: every change is a new destination.
 */
export function destinationOf(value: unknown): string {
  if (typeof value === 'string') {
    const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(value.trim());
    if (m && (m[1].toLowerCase() === 'http' || m[1].toLowerCase() === 'https')) {
      if (m[2].includes('{{')) return `${m[1].toLowerCase()}://${m[2].toLowerCase()}`;
      try {
        return new URL(value.trim()).origin;
      } catch {
        // not a URL after all: fall through to the whole value
      }
    }
  }
  return JSON.stringify(value ?? null);
}

function valueAt(obj: Json, dotPath: string): unknown {
  return dotPath
    .split('.')
    .reduce<unknown>((node, seg) => (node && typeof node === 'object' && !Array.isArray(node) ? (node as Json)[seg] : undefined), obj);
}

/**
 * The field problems of a PATCH that moves a destination but keeps a secret bound to it: one per kept
 * secret, at `<prefix>.<its path>`. `stored` and `next` are decrypted configs before and after the change
 * (`next` validated, with defaults applied); `patch` is the config the client sent.
 */
export function secretsLeftBehind(stored: Json, patch: Json, next: Json, bindings: SecretBindings, prefix = 'config'): FieldProblem[] {
  const moved = new Set<string>();
  for (const fields of Object.values(bindings)) {
    for (const f of fields) if (destinationOf(valueAt(stored, f)) !== destinationOf(valueAt(next, f))) moved.add(f);
  }
  if (moved.size === 0) return [];
  const problems: FieldProblem[] = [];
  for (const { pattern, path } of keptSecrets(stored, patch, Object.keys(bindings))) {
    const fields = (bindings[pattern] ?? []).filter((f) => moved.has(f));
    if (fields.length === 0) continue;
    const where = fields.map((f) => `${prefix}.${f}`).join(', ');
    problems.push({ path: `${prefix}.${path}`, message: `must be given again: ${where} now points somewhere else, and a stored secret does not follow it` });
  }
  return problems;
}
