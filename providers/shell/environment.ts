import type { DeliveryContext } from '../types';

/** The PATH every command gets. */
export const SHELL_PATH = '/usr/local/bin:/usr/bin:/bin';
/** EVENT_PAYLOAD is left out above this (the payload is always in $EVENT_PAYLOAD_FILE). */
const MAX_PAYLOAD_VAR_BYTES = 64 * 1024;
/** A PAYLOAD_* variable longer than this is left out (Linux refuses any one over 128 KiB). */
const MAX_FLATTENED_VALUE_BYTES = 32 * 1024;
/** All PAYLOAD_* variables together stay under this. */
const MAX_FLATTENED_TOTAL_BYTES = 512 * 1024;
const MAX_DEPTH = 8;

/** A payload key as part of a variable name: upper-cased, `.` and `-` as `_`, anything else dropped. */
export function envKey(key: string): string {
  return key.toUpperCase().replace(/[.-]/g, '_').replace(/[^A-Z0-9_]/g, '');
}

/**
 * The payload as PAYLOAD_* variables (Checkstack's convention): nested objects joined with `_`
 * (`{a: {b: 1}}` -> PAYLOAD_A_B=1), arrays as JSON, null as "", other scalars as text. Keys that
 * leave nothing after cleaning are skipped; `skipped` names variables left out for size.
 */
export function flattenPayload(payload: Record<string, unknown>): { vars: Record<string, string>; skipped: string[] } {
  const vars: Record<string, string> = {};
  const skipped: string[] = [];
  let total = 0;
  const put = (name: string, value: string) => {
    const bytes = Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
    if (Buffer.byteLength(value) > MAX_FLATTENED_VALUE_BYTES || total + bytes > MAX_FLATTENED_TOTAL_BYTES) {
      skipped.push(name);
      return;
    }
    total += bytes;
    vars[name] = value;
  };
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, value] of Object.entries(obj)) {
      const part = envKey(key);
      if (!part) continue;
      const name = `${prefix}_${part}`;
      if (value === null || value === undefined) put(name, '');
      else if (Array.isArray(value)) put(name, JSON.stringify(value));
      else if (typeof value === 'object') {
        if (depth < MAX_DEPTH) walk(value as Record<string, unknown>, name, depth + 1);
        else put(name, JSON.stringify(value));
      } else put(name, String(value));
    }
  };
  walk(payload, 'PAYLOAD', 1);
  return { vars, skipped };
}

/**
 * The whole environment of a command: a short fixed list, the event, the flattened payload and the
 * subscription's own `env`. Nothing comes from the hub's process.env.
 */
export function shellEnvironment(
  ctx: Pick<DeliveryContext, 'deliveryId' | 'attempt' | 'event' | 'subscription' | 'test' | 'redelivery'>,
  home: string,
  payloadFile: string,
  extra: Record<string, string> = {},
): { env: Record<string, string>; skipped: string[] } {
  const { event } = ctx;
  const payloadJson = JSON.stringify(event.payload);
  const flat = flattenPayload(event.payload);
  const skipped = [...flat.skipped];
  const env: Record<string, string> = {
    ...flat.vars,
    PATH: SHELL_PATH,
    HOME: home,
    TMPDIR: home,
    LANG: 'C.UTF-8',
    EVENT_ID: event.id,
    EVENT_TYPE: event.type,
    EVENT_TIMESTAMP: event.occurredAt,
    EVENT_SYSTEM_IDS: event.systemIds.join(','),
    EVENT_RESOLVES: String(event.resolves),
    ...(event.subject !== undefined ? { EVENT_SUBJECT: event.subject } : {}),
    EVENT_PAYLOAD_FILE: payloadFile,
    DELIVERY_ID: ctx.deliveryId,
    DELIVERY_ATTEMPT: String(ctx.attempt),
    DELIVERY_TEST: String(ctx.test),
    DELIVERY_REDELIVERY: String(ctx.redelivery),
    SUBSCRIPTION_ID: ctx.subscription.id,
    SUBSCRIPTION_NAME: ctx.subscription.name,
    ...extra,
  };
  if (Buffer.byteLength(payloadJson) <= MAX_PAYLOAD_VAR_BYTES) env.EVENT_PAYLOAD = payloadJson;
  else skipped.push('EVENT_PAYLOAD');
  // a NUL cannot be passed in an environment variable (payload text may hold one)
  for (const name of Object.keys(env)) if (env[name].includes('\0')) env[name] = env[name].replace(/\0/g, '');
  return { env, skipped };
}
