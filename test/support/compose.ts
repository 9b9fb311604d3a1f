import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

// Reading docker-compose.yml as Compose would (test/unit/compose.test.ts, test/unit/cluster-compose.test.ts).

// compiled to dist/test/support: the repository root is three levels up
const ROOT = path.resolve(__dirname, '../../..');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  ports?: (string | number | { target?: number; published?: string | number })[];
  restart?: string;
  volumes?: (string | { source?: string; target?: string })[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

export const composeText = () => fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
export const compose = (): ComposeFile => parse(composeText()) as ComposeFile;

/**
 * Compose's variable substitution, strict: `${X:?msg}` / `${X?msg}` need X (else it throws, as Compose refuses
 * to start), `${X:-d}` / `${X-d}` fall back to d, `$$` is a literal `$`. A bare `${X}` or `$X` throws: Compose
 * would substitute an empty string without a word, which is how shell variables in scripts go missing.
 */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    if (whole === '$$') return '$';
    if (bare !== undefined) throw new Error(`bare $${bare} (write $$${bare} for the shell, or \${${bare}:-default})`);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced ?? '');
    if (!m) throw new Error(`cannot read \${${braced}}`);
    const [, name, colon, op, arg] = m;
    const value = vars[name];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === undefined) {
      if (value === undefined) throw new Error(`\${${name}} has neither a default nor a required marker`);
      return value;
    }
    if (!missing) return value;
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return arg;
  });
}

/** Every variable the file marks required (`${X:?...}` or `${X?...}`). */
export function requiredVariables(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1]))].sort();
}

/** A realistic value for a required secret: 16+ characters, URL-safe (it also lands in DATABASE_URL). */
export const sampleValue = (name: string) => `sample-${name.toLowerCase().replace(/_/g, '-')}-0123456789abcdef`;

export function sampleVars(text: string): Record<string, string> {
  return Object.fromEntries(requiredVariables(text).map((name) => [name, sampleValue(name)]));
}

/** The `environment:` of a service as a plain map (both the map and the `KEY=value` list forms). */
export function rawEnvironment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export function environment(service: ComposeService, vars: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(rawEnvironment(service)).map(([k, v]) => [k, interpolate(v, vars)]));
}

export const asText = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(' ') : (value ?? ''));

