import crypto from 'node:crypto';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { ApiTokenEntity, ROLES } from '../../entities/api-token.entity';
import { generateToken, hashToken } from '../auth/tokens';
import { notFound } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import { idParams } from './schemas';

const tokenView = z
  .object({ id: z.string(), name: z.string(), role: z.enum(ROLES), owners: z.array(z.string()), createdAt: z.string() })
  .meta({ id: 'Token' });

const createBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    role: z.enum(ROLES),
    owners: z.array(z.string().min(1).max(100)).max(100).optional().meta({ description: 'For ingest tokens: event owners it may post for.' }),
  })
  .strict();

const view = (t: ApiTokenEntity) => ({ id: t.id, name: t.name, role: t.role, owners: t.owners, createdAt: t.createdAt.toISOString() });

/** `/tokens` (admin): the token is shown once at creation; only its hash is stored. */
export function tokenRoutes(routes: ApiRoutes, dataSource: DataSource): void {
  const repo = () => dataSource.getRepository(ApiTokenEntity);
  routes.add({
    method: 'post', path: '/tokens', summary: 'Create an API token (shown once)', tag: 'tokens', roles: ['admin'],
    body: createBody,
    responses: {
      201: {
        description: 'Created', schema: z.object({ id: z.string(), token: z.string() }),
        links: { DeleteToken: { operation: 'delete /tokens/:id', parameters: { id: '$response.body#/id' } } },
      },
    },
    handler: async ({ body }) => {
      const token = generateToken(body.role);
      const id = `tok_${crypto.randomUUID().replace(/-/g, '')}`;
      await repo().insert({ id, name: body.name, role: body.role, owners: body.owners ?? [], tokenHash: hashToken(token) });
      return { status: 201, body: { id, token } };
    },
  });
  routes.add({
    method: 'get', path: '/tokens', summary: 'List API tokens (never their values)', tag: 'tokens', roles: ['admin'],
    responses: { 200: { description: 'Tokens', schema: z.object({ items: z.array(tokenView) }) } },
    handler: async () => ({ status: 200, body: { items: (await repo().find({ order: { createdAt: 'ASC' } })).map(view) } }),
  });
  routes.add({
    method: 'delete', path: '/tokens/:id', summary: 'Revoke an API token', tag: 'tokens', roles: ['admin'],
    params: idParams,
    responses: { 204: { description: 'Revoked' } },
    handler: async ({ params }) => {
      const r = await repo().delete({ id: params.id });
      if (!r.affected) throw notFound(`Token ${params.id} does not exist`);
      return { status: 204 };
    },
  });
}
