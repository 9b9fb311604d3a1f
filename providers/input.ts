import type { z } from 'zod';
import type { DeliveryOutcome, ProviderDefinition } from './types';

/** A subscription's config and connection, parsed once by the provider's schemas (defaults applied). */
export type ParsedInput = { ok: true; config: unknown; connection: unknown } | { ok: false; outcome: DeliveryOutcome };

/**
 * Parses a stored config (and connection) for one attempt: defaults apply, and a config that no longer passes
 * its schema (an older version, an edited row) fails the attempt as `invalid_config`/`invalid_connection`
 * naming the fields, never with their values. An invalid connection pauses the subscription, and so does a
 * config issue that carries `params.pauseReason` (the target can never work, e.g. a retired connector URL).
 */
export function parseDeliveryInput(
  def: Pick<ProviderDefinition, 'displayName' | 'configSchema' | 'connectionSchema'>,
  config: unknown,
  connection: unknown,
): ParsedInput {
  const parsedConfig = def.configSchema.safeParse(config);
  if (!parsedConfig.success) return { ok: false, outcome: invalid(def.displayName, 'config', parsedConfig.error.issues) };
  let parsedConnection: unknown;
  if (connection !== undefined && def.connectionSchema) {
    const c = def.connectionSchema.safeParse(connection);
    if (!c.success) return { ok: false, outcome: invalid(def.displayName, 'connection', c.error.issues) };
    parsedConnection = c.data;
  }
  return { ok: true, config: parsedConfig.data, connection: parsedConnection ?? connection };
}

function invalid(provider: string, what: 'config' | 'connection', issues: z.core.$ZodIssue[]): DeliveryOutcome {
  const paths = [...new Set(issues.map((issue) => [what, ...issue.path.map(String)].join('.')))];
  // a connection that fails its schema never works until fixed: pause (as a config issue with params.pauseReason does)
  const pauseReason =
    issues.map((i) => (i as { params?: { pauseReason?: unknown } }).params?.pauseReason).find((r) => typeof r === 'string') ??
    (what === 'connection' ? `The ${provider} connection is invalid: fix it, then resume the subscription.` : undefined);
  return {
    kind: 'permanent',
    errorCode: `invalid_${what}`,
    error: `${provider} ${what} is invalid at ${paths.join(', ')}`,
    ...(typeof pauseReason === 'string' ? { pauseReason } : {}),
  };
}
