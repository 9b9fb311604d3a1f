import { ProviderRegistry } from './registry';
import { webhookProvider } from './webhook';

/** The built-in providers: one line per provider folder. */
export const BUILTIN_PROVIDERS = [webhookProvider];

/** A registry holding the built-in providers. */
export function createBuiltinRegistry(): ProviderRegistry {
  const registry = new ProviderRegistry();
  for (const p of BUILTIN_PROVIDERS) registry.register(p);
  return registry;
}
