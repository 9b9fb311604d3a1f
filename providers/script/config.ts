import { z } from 'zod';
import { secretMeta } from '../shared/secret-field';

/** Longest script, in characters. */
const MAX_SOURCE_CHARS = 100_000;
const MAX_SECRETS = 50;

/** Config of one script subscription. The script convention is described in providers/script/README.md. */
export const scriptConfigSchema = z.strictObject({
  language: z.enum(['javascript', 'typescript']).default('javascript'),
  source: z
    .string()
    .min(1)
    .max(MAX_SOURCE_CHARS)
    .describe('The script; it defines `async function deliver(event, ctx)` at its top level'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(30_000)
    .default(5_000)
    .describe('Wall-clock limit of one attempt, computing and waiting for fetch together'),
  memoryLimitMb: z.number().int().min(8).max(128).default(32).describe('Heap limit of the sandbox, in MiB'),
  maxFetchCalls: z.number().int().min(0).max(20).default(5).describe('fetch() calls allowed per attempt'),
  secrets: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a name like API_TOKEN'),
      z.string().min(1).max(8192).meta(secretMeta({ boundTo: ['source'] })), // the source decides where they go
    )
    .refine((s) => Object.keys(s).length <= MAX_SECRETS, `at most ${MAX_SECRETS} secrets`)
    .optional()
    .describe('Values the script reads as ctx.secrets.NAME; encrypted at rest, masked on read, removed from logs'),
});

/** A parsed, defaulted script config. */
export type ScriptConfig = z.output<typeof scriptConfigSchema>;
