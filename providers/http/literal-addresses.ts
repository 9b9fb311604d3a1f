import { isIP } from 'node:net';
import type { FieldProblem } from '../types';
import type { AddressPolicy } from './address-policy';

/** How many refused fields one answer names (a config is small; this only bounds a hostile one). */
const MAX_PROBLEMS = 20;

/**
 * The config fields holding an http(s) URL whose host is a literal address (or `localhost`) that the outbound
 * policy refuses, e.g. `http://169.254.169.254/...`: refused when the config is saved or previewed, naming
 * the field, rather than only when a delivery is attempted (`ssrf_blocked`). Hostnames are not resolved here
 * (DNS can change; the guarded client checks every resolved address at connect time). The message names the
 * address and why, never the rest of the value (the field may be a secret, such as a webhook URL).
 */
export function refusedLiteralAddresses(value: unknown, prefix: string, policy: AddressPolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const walk = (v: unknown, at: string): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (typeof v === 'string') {
      const refused = refusedAddressOf(v, policy);
      if (refused) problems.push({ path: at, message: refused });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${at}.${i}`));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    }
  };
  walk(value, prefix);
  return problems;
}

/** Why the URL in `text` may not be sent to, or undefined (not a URL, a hostname, a template, or allowed). */
function refusedAddressOf(text: string, policy: AddressPolicy): string | undefined {
  const trimmed = text.trim();
  if (!/^https?:\/\//i.test(trimmed)) return undefined;
  let host: string;
  try {
    host = new URL(trimmed).hostname; // normalises 0xA9FEA9FE, 2852039166 and the like to dotted IPv4
  } catch {
    return undefined;
  }
  const bare = host.replace(/^\[|\]$/g, '');
  const loopbackName = /^localhost\.?$/i.test(bare) || /\.localhost\.?$/i.test(bare);
  const address = isIP(bare) ? bare : loopbackName ? '127.0.0.1' : undefined;
  if (!address) return undefined;
  const reason = policy.blockedReason(address, bare);
  if (!reason) return undefined;
  return `points at ${bare}, a ${reason} address the outbound policy refuses (OUTBOUND_ALLOWED_NETWORKS can allow it)`;
}
