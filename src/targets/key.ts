import type { ProviderDefinition } from '../../providers/types';

/** Config and connection fields that name where a provider sends, in the order they are looked at. */
const DESTINATION_FIELDS = ['url', 'webhookUrl', 'apiBaseUrl', 'baseUrl'];

/**
 * The target an attempt goes to, for target health (circuits): the provider's own `healthTarget`, else its
 * follow-up target (a channel, a project), else the URL origin of the config's (or connection's) destination
 * field. Never a secret: origins carry no path, query or credentials, and provider keys fingerprint secrets.
 * Undefined when nothing names a target (the attempt is not tracked).
 */
export function healthTargetOf(def: ProviderDefinition, config: Record<string, unknown>, connection?: Record<string, unknown>): string | undefined {
  const own = def.healthTarget?.(config, connection) ?? def.followUpTarget?.(config, connection);
  if (own) return own;
  for (const source of [config, connection ?? {}]) {
    for (const field of DESTINATION_FIELDS) {
      const origin = originOf(source[field]);
      if (origin) return origin;
    }
  }
  return undefined;
}

/** `https://host:port` of an absolute http(s) URL; undefined for anything else or a templated host. */
function originOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return undefined;
  try {
    const url = new URL(value);
    if (url.host.includes('{') || url.host.includes('%7B')) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
