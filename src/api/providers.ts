import { z } from 'zod';
import type { PluginLoadError } from '../../providers/plugins';
import type { ProviderRegistry, RegisteredProvider } from '../../providers/registry';
import type { ProviderSettings } from '../../providers/settings';
import { notFound } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import { anyObject, idParams } from './schemas';

const provider = z
  .object({
    id: z.string(),
    displayName: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    configSchema: anyObject,
    connectionSchema: anyObject.optional(),
    connection: z.enum(['required', 'optional', 'none']),
    followUps: z.boolean(),
    adminOnly: z.boolean().meta({ description: 'Only an admin may create, change or enable its subscriptions (the shell provider)' }),
    source: z.string(),
  })
  .meta({ id: 'Provider' });

/** The API view of a provider: its schemas with secret fields marked `x-secret`/`writeOnly`. */
function providerView(p: RegisteredProvider, enabled: boolean) {
  return {
    id: p.definition.id,
    displayName: p.definition.displayName,
    description: p.definition.description,
    enabled,
    configSchema: p.configJsonSchema,
    ...(p.connectionJsonSchema ? { connectionSchema: p.connectionJsonSchema } : {}),
    connection: p.definition.connection ?? 'none',
    followUps: p.definition.followUps,
    adminOnly: p.definition.adminOnly === true,
    source: p.source,
  };
}

/** `/providers`: what can be subscribed to, how to configure it, and the admin's on/off switch. */
export function providerRoutes(routes: ApiRoutes, registry: ProviderRegistry, settings: ProviderSettings, loadErrors: () => PluginLoadError[]): void {
  routes.add({
    method: 'get', path: '/providers', summary: 'List providers with their config schemas', tag: 'providers',
    roles: ['admin', 'manager', 'viewer'],
    responses: {
      200: {
        description: 'Providers, and plugins that failed to load',
        schema: z.object({ items: z.array(provider), loadErrors: z.array(z.object({ plugin: z.string(), error: z.string() })) }),
      },
    },
    handler: async () => {
      const disabled = await settings.disabled();
      return { status: 200, body: { items: registry.list().map((p) => providerView(p, !disabled.has(p.definition.id))), loadErrors: loadErrors() } };
    },
  });
  routes.add({
    method: 'patch', path: '/providers/:id', summary: 'Enable or disable a provider', tag: 'providers', roles: ['admin'],
    params: idParams,
    body: z.object({ enabled: z.boolean() }).strict(),
    responses: { 200: { description: 'The provider', schema: provider } },
    handler: async ({ params, body }) => {
      const p = registry.get(params.id);
      if (!p) throw notFound(`Provider ${params.id} is not installed`);
      await settings.setEnabled(params.id, body.enabled);
      return { status: 200, body: providerView(p, body.enabled) };
    },
  });
}
