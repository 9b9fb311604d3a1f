import crypto from 'node:crypto';
import type { ProviderDefinition } from '../../providers/types';

/** Config and connection fields that name where a provider sends, in the order they are looked at. */
const DESTINATION_FIELDS = ['url', 'webhookUrl', 'apiBaseUrl', 'baseUrl'];

/** The longest target key stored (target_limits.target_key is varchar(500); the other key columns are wider). */
export const TARGET_KEY_MAX = 500;
/** Hex digits of the SHA-256 fingerprint a key too long to store ends with. */
const FINGERPRINT_HEX = 16;

/**
 * The one key of the destination an attempt goes to: its circuit (target health), its rate limit and the
 * row `GET /targets` lists all use it, so a limit set on a listed target holds the deliveries counted there.
 * The provider's own `healthTarget`, else its follow-up target (a channel, a project), else the URL origin
 * of the config's (or connection's) destination field (`url`, then `webhookUrl`, `apiBaseUrl`, `baseUrl`: a
 * Slack, Teams or Google Chat incoming webhook is keyed by its origin). Never a secret: origins carry no
 * path, query or credentials, and provider keys fingerprint secrets. Undefined when nothing names a target
 * (the attempt is neither tracked nor limited). At most TARGET_KEY_MAX characters (see `boundedTargetKey`).
 */
export function targetKeyOf(
  def: Pick<ProviderDefinition, 'healthTarget' | 'followUpTarget'>,
  config: Record<string, unknown>,
  connection?: Record<string, unknown>,
): string | undefined {
  const own = def.healthTarget?.(config, connection) ?? def.followUpTarget?.(config, connection);
  if (own) return boundedTargetKey(own);
  for (const source of [config, connection ?? {}]) {
    for (const field of DESTINATION_FIELDS) {
      const origin = originOf(source[field]);
      if (origin) return boundedTargetKey(origin);
    }
  }
  return undefined;
}

/**
 * A key of at most TARGET_KEY_MAX characters (code points, as PostgreSQL counts them): a longer one keeps
 * its first characters and ends with `#` and a fingerprint of the whole key, so two long keys sharing a
 * prefix stay apart. Migration 1765431870000-OneTargetKey rewrites stored keys the same way (in SQL).
 */
export function boundedTargetKey(key: string): string {
  const chars = Array.from(key);
  if (chars.length <= TARGET_KEY_MAX) return key;
  const fingerprint = crypto.createHash('sha256').update(key, 'utf8').digest('hex').slice(0, FINGERPRINT_HEX);
  return `${chars.slice(0, TARGET_KEY_MAX - FINGERPRINT_HEX - 1).join('')}#${fingerprint}`;
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
