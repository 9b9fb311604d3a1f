import { z } from 'zod';
import type { ConnectionService } from '../connections/service';
import type { ApiRoutes } from '../http/routes';
import { anyObject, idParams } from './schemas';

const connection = z
  .object({ id: z.string(), provider: z.string(), name: z.string(), config: anyObject, createdAt: z.string(), updatedAt: z.string() })
  .meta({ id: 'Connection' });

const fields = {
  provider: z.string().min(1).max(100),
  name: z.string().trim().min(1).max(200),
  config: anyObject.meta({
    description:
      "Validated by the provider's connectionSchema; secret fields are write-only. A URL whose host is a literal address the outbound policy " +
      'refuses is refused: 400 naming the field (as for subscriptions).',
  }),
};

/** `/connections`: shared, encrypted provider credentials. */
export function connectionRoutes(routes: ApiRoutes, connections: ConnectionService): void {
  const roles = ['admin', 'manager'] as const;
  routes.add({
    method: 'get', path: '/connections', summary: 'List connections', tag: 'connections', roles: [...roles],
    query: z.object({ provider: z.string().optional() }).strict(),
    responses: { 200: { description: 'Connections', schema: z.object({ items: z.array(connection), nextCursor: z.null() }) } },
    handler: async ({ query }) => ({ status: 200, body: { items: await connections.list(query.provider), nextCursor: null } }),
  });
  routes.add({
    method: 'post', path: '/connections', summary: 'Create a connection', tag: 'connections', roles: [...roles],
    body: z.object(fields).strict(),
    responses: {
      201: {
        description: 'Created', schema: connection,
        links: {
          GetConnection: { operation: 'get /connections/:id', parameters: { id: '$response.body#/id' } },
          PatchConnection: { operation: 'patch /connections/:id', parameters: { id: '$response.body#/id' } },
          TestConnection: { operation: 'post /connections/:id/test', parameters: { id: '$response.body#/id' } },
          DeleteConnection: { operation: 'delete /connections/:id', parameters: { id: '$response.body#/id' } },
        },
      },
    },
    handler: async ({ body }) => ({ status: 201, body: await connections.create(body) }),
  });
  routes.add({
    method: 'get', path: '/connections/:id', summary: 'Get a connection', tag: 'connections', roles: [...roles],
    params: idParams,
    responses: { 200: { description: 'The connection', schema: connection } },
    handler: async ({ params }) => ({ status: 200, body: await connections.get(params.id) }),
  });
  routes.add({
    method: 'patch', path: '/connections/:id', summary: 'Change a connection (secrets left out are kept)', tag: 'connections',
    roles: [...roles], params: idParams,
    body: z.object({ name: fields.name, config: fields.config }).partial().strict(),
    responses: { 200: { description: 'Changed', schema: connection } },
    handler: async ({ params, body }) => ({ status: 200, body: await connections.update(params.id, body) }),
  });
  routes.add({
    method: 'delete', path: '/connections/:id', summary: 'Delete an unused connection', tag: 'connections', roles: [...roles],
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'In use by subscriptions' } },
    handler: async ({ params }) => {
      await connections.delete(params.id);
      return { status: 204 };
    },
  });
  routes.add({
    method: 'post', path: '/connections/:id/test', summary: "Check the connection's credentials", tag: 'connections',
    roles: [...roles], params: idParams,
    responses: { 200: { description: 'Result', schema: z.object({ ok: z.boolean(), message: z.string() }) } },
    handler: async ({ params }) => ({ status: 200, body: await connections.test(params.id) }),
  });
  routes.add({
    method: 'get', path: '/connections/:id/options/:resolver', summary: 'Choices for a config field (projects, channels, ...)',
    tag: 'connections', roles: [...roles],
    params: z.object({ id: z.string().min(1).max(64), resolver: z.string().min(1).max(100) }),
    query: z.record(z.string(), z.string().max(500)),
    responses: { 200: { description: 'Choices', schema: z.array(z.object({ value: z.string(), label: z.string() })) } },
    handler: async ({ params, query }) => ({ status: 200, body: await connections.options(params.id, params.resolver, query) }),
  });
}
