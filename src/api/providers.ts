import { z } from 'zod';
import type { ProviderRegistry, RegisteredProvider } from '../../providers/registry';
import type { ApiRoutes } from '../http/routes';
import { anyObject } from './schemas';

const provider = z
  .object({
    id: z.string(),
    displayName: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    configSchema: anyObject,
    connectionSchema: anyObject.optional(),
    followUps: z.boolean(),
    source: z.string(),
  })
  .meta({ id: 'Provider' });

/** The API view of a provider: its schemas with secret fields marked `x-secret`/`writeOnly`. */
export function providerView(p: RegisteredProvider) {
  return {
    id: p.definition.id,
    displayName: p.definition.displayName,
    description: p.definition.description,
    enabled: p.enabled,
    configSchema: p.configJsonSchema,
    ...(p.connectionJsonSchema ? { connectionSchema: p.connectionJsonSchema } : {}),
    followUps: p.definition.followUps,
    source: p.source,
  };
}

/** `GET /providers`: what can be subscribed to and how to configure it. */
export function providerRoutes(routes: ApiRoutes, registry: ProviderRegistry): void {
  routes.add({
    method: 'get', path: '/providers', summary: 'List providers with their config schemas', tag: 'providers',
    roles: ['admin', 'manager', 'viewer'],
    responses: { 200: { description: 'Providers', schema: z.object({ items: z.array(provider) }) } },
    handler: async () => ({ status: 200, body: { items: registry.list().map(providerView) } }),
  });
}
