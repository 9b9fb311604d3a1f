import { createAddressPolicy, type AddressPolicy } from '../providers/http/address-policy';
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

/** The outbound address policy as configured, for refusing literal addresses when a config is saved. */
export function outboundPolicy(config: Config): AddressPolicy {
  return createAddressPolicy(config.outbound.allowedNetworks);
}
