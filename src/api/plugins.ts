import { z } from 'zod';
import type { PluginService } from '../plugins/service';
import type { ApiRoutes } from '../http/routes';
import { idParams } from './schemas';

/** npm's rules for a package name (lower case, optional scope, at most 214 characters). */
const packageName = z
  .string()
  .max(214)
  .regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, 'must be an npm package name such as @acme/provider-x');

const plugin = z
  .object({
    id: z.string(),
    package: z.string(),
    version: z.string(),
    integrity: z.string().describe('sha512 subresource integrity of the tarball installed'),
    origin: z.enum(['registry', 'upload']),
    status: z.enum(['installed', 'failed', 'disabled', 'uninstalled']).describe('`disabled`: its host kept crashing or hanging (see disabledReason); uninstall and install it again to retry'),
    providers: z.array(z.string()).describe('Provider ids it registered in the answering process'),
    loadError: z.string().nullable(),
    installedBy: z.string().describe('Id of the API token that installed it'),
    installedAt: z.string(),
    uninstalledBy: z.string().nullable(),
    uninstalledAt: z.string().nullable(),
    disabledAt: z.string().nullable(),
    disabledReason: z.string().nullable().describe('Why the hub disabled it (its host crashed or hung too often)'),
  })
  .meta({ id: 'Plugin' });

const named = z.object({ id: z.string(), name: z.string(), provider: z.string() });
const preview = z
  .object({
    plugin,
    providers: z.array(z.string()),
    subscriptions: z.array(named).describe('Subscriptions an uninstall pauses'),
    connections: z.array(named).describe('Connections of its providers (kept)'),
    deliveriesInFlight: z.number().int().describe('Pending or retrying deliveries of its subscriptions'),
  })
  .meta({ id: 'PluginUninstallPreview' });

const install = z.union([
  z.object({ package: packageName, version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'must be an exact version such as 1.2.3') }).strict(),
  z.object({ tarball: z.string().min(1).describe('An npm package tarball (`npm pack`), base64') }).strict(),
]);

/** `/plugins`: provider plugins installed at run time (admins change them, managers read them). */
export function pluginRoutes(routes: ApiRoutes, plugins: PluginService, maxTarballBytes: number, installEnabled = false): void {
  routes.add({
    method: 'get', path: '/plugins', summary: 'List installed (and formerly installed) provider plugins', tag: 'plugins', roles: ['admin', 'manager'],
    responses: {
      200: {
        description: 'Plugins, newest first',
        schema: z.object({
          items: z.array(plugin),
          installEnabled: z.boolean().meta({ description: 'PLUGIN_INSTALL_ENABLED: whether POST /plugins installs (else 403)' }),
        }),
      },
    },
    handler: async () => ({ status: 200, body: { items: await plugins.list(), installEnabled } }),
  });
  routes.add({
    method: 'post', path: '/plugins', summary: 'Install a provider plugin from the registry or an uploaded tarball', tag: 'plugins', roles: ['admin'],
    body: install,
    bodyLimitBytes: Math.ceil(maxTarballBytes * 1.4) + 1024,
    responses: {
      201: { description: 'Installed and loaded (or `status: failed` with `loadError`)', schema: plugin },
      403: { description: 'Installing is off (PLUGIN_INSTALL_ENABLED)' },
      404: { description: 'No such package or version in the registry' },
      409: { description: 'The package is already installed' },
      422: { description: 'Integrity mismatch, scope not allowed, not a plugin tarball' },
      502: { description: 'The registry could not be reached' },
    },
    handler: async ({ body, auth }) => ({ status: 201, body: await plugins.install(body, auth.tokenId) }),
  });
  routes.add({
    method: 'get', path: '/plugins/:id', summary: 'One plugin', tag: 'plugins', roles: ['admin', 'manager'], params: idParams,
    responses: { 200: { description: 'The plugin', schema: plugin }, 404: { description: 'No such plugin' } },
    handler: async ({ params }) => ({ status: 200, body: await plugins.get(params.id) }),
  });
  routes.add({
    method: 'get', path: '/plugins/:id/uninstall-preview', summary: 'What uninstalling a plugin would touch', tag: 'plugins', roles: ['admin', 'manager'],
    params: idParams,
    responses: { 200: { description: 'Its subscriptions, connections and deliveries in flight', schema: preview }, 404: { description: 'Not installed' } },
    handler: async ({ params }) => ({ status: 200, body: await plugins.uninstallPreview(params.id) }),
  });
  routes.add({
    method: 'delete', path: '/plugins/:id', summary: 'Uninstall a plugin; its subscriptions are paused, not deleted', tag: 'plugins', roles: ['admin'],
    params: idParams,
    responses: {
      200: { description: 'Uninstalled; what it touched', schema: preview },
      404: { description: 'Not installed' },
    },
    handler: async ({ params, auth }) => ({ status: 200, body: await plugins.uninstall(params.id, auth.tokenId) }),
  });
}
