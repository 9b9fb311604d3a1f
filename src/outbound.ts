import { createGuardedHttpClient } from '../providers/http/guarded-client';
import type { GuardedHttpClient } from '../providers/types';
import type { Config } from './config';

/** The guarded outbound client as configured (one per process: it owns the keep-alive agents). */
export function outboundClient(config: Config): GuardedHttpClient {
  return createGuardedHttpClient({
    timeoutMs: config.outbound.timeoutMs,
    maxResponseBytes: config.outbound.maxResponseBytes,
    allowedNetworks: config.outbound.allowedNetworks,
  });
}
