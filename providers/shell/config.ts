import path from 'node:path';
import { z } from 'zod';
import { secretMeta } from '../shared/secret-field';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ENV_VARS = 50;

/** Variables the hub sets itself; a subscription's `env` may not replace them. */
const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set(['PATH', 'HOME', 'LANG', 'TMPDIR']);
const RESERVED_ENV_PREFIXES = ['EVENT_', 'PAYLOAD_', 'DELIVERY_', 'SUBSCRIPTION_'];

/** True when `name` belongs to the hub (fixed names and the EVENT_/PAYLOAD_/DELIVERY_/SUBSCRIPTION_ families). */
function isReservedEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return RESERVED_ENV_NAMES.has(upper) || RESERVED_ENV_PREFIXES.some((p) => upper.startsWith(p));
}

/**
 * Longest run allowed: under the delivery activity's 2-minute start-to-close timeout, so the hub, not
 * Temporal, ends a slow command and records why.
 */
export const MAX_SHELL_TIMEOUT_MS = 110_000;

/** Config of one shell subscription. Conventions (environment, exit codes) are in providers/shell/README.md. */
export const shellConfigSchema = z.strictObject({
  command: z
    .string()
    .min(1)
    .max(65_536)
    .refine((c) => !c.includes('\0'), 'must not contain NUL characters')
    .describe('Run with /bin/sh -c; exit 0 = delivered (first line of stdout = external id), 75 = try again later'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(MAX_SHELL_TIMEOUT_MS)
    .default(30_000)
    .describe('After this the whole process group is killed (SIGKILL)'),
  workingDirectory: z
    .string()
    .min(1)
    .max(4096)
    .refine((d) => path.isAbsolute(d) && !d.includes('\0'), 'must be an absolute path')
    .optional()
    .describe('Defaults to a fresh empty directory (also $HOME) that is removed afterwards'),
  maxOutputBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(64 * 1024)
    .describe('Kept per stream: the start of stdout, the end of stderr'),
  env: z
    .record(
      z.string().regex(ENV_NAME, 'must be an environment variable name like API_TOKEN'),
      z
        .string()
        .max(32_768)
        .refine((v) => !v.includes('\0'), 'must not contain NUL characters')
        .meta(secretMeta({ boundTo: ['command'] })), // the command decides where they go
    )
    .superRefine((env, ctx) => {
      const names = Object.keys(env);
      if (names.length > MAX_ENV_VARS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_ENV_VARS} variables` });
      for (const name of names) {
        if (isReservedEnvName(name)) {
          ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is set by the hub and cannot be overridden` });
        }
      }
    })
    .optional()
    .describe('Extra variables for the command (secrets: encrypted at rest, masked on read, removed from logs)'),
});

/** A parsed, defaulted shell config. */
export type ShellConfig = z.output<typeof shellConfigSchema>;
