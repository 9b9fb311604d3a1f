import { z } from 'zod';
import { notFound } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import type { TargetLimitStore } from '../targets/limits';

const target = z
  .object({
    targetKey: z.string(),
    requestsPerSecond: z.number().nullable(),
    blockedUntil: z.string().nullable(),
    learnedAt: z.string().nullable(),
    learnedStatus: z.number().int().nullable(),
  })
  .meta({ id: 'TargetLimit' });

/** The target key in the path, URL-encoded (`http%3A%2F%2Fhooks.example.com`, `slack:...`). */
const keyParams = z.object({ key: z.string().min(1).max(500) });

/** `/targets/limits` and `/targets/{key}/limit`: rate limits per destination, configured and learned (docs/delivery.md "Rate limits per destination"). */
export function targetLimitRoutes(routes: ApiRoutes, store: TargetLimitStore): void {
  routes.add({
    method: 'get', path: '/targets/limits', summary: 'List destinations with a configured or learned rate limit', tag: 'targets',
    roles: ['admin', 'manager', 'viewer'],
    responses: { 200: { description: 'Destinations by target key', schema: z.object({ items: z.array(target) }) } },
    handler: async () => ({ status: 200, body: { items: await store.list() } }),
  });
  routes.add({
    method: 'get', path: '/targets/:key/limit', summary: "A destination's rate limit", tag: 'targets',
    roles: ['admin', 'manager', 'viewer'],
    params: keyParams,
    responses: { 200: { description: 'The limit', schema: target } },
    handler: async ({ params }) => {
      const found = await store.get(params.key);
      if (!found) throw notFound(`No rate limit is configured or learned for target ${params.key}`);
      return { status: 200, body: found };
    },
  });
  routes.add({
    method: 'put', path: '/targets/:key/limit', summary: 'Configure the requests per second a destination gets from all workers', tag: 'targets',
    roles: ['admin'],
    params: keyParams,
    body: z.object({ requestsPerSecond: z.number().positive().max(10_000) }).strict(),
    responses: { 200: { description: 'The limit', schema: target } },
    handler: async ({ params, body }) => ({ status: 200, body: await store.setLimit(params.key, body.requestsPerSecond) }),
  });
  routes.add({
    method: 'delete', path: '/targets/:key/limit', summary: "Remove a destination's configured limit (learned limits still apply)", tag: 'targets',
    roles: ['admin'],
    params: keyParams,
    responses: { 204: { description: 'Removed' } },
    handler: async ({ params }) => {
      if (!(await store.get(params.key))) throw notFound(`No rate limit is configured or learned for target ${params.key}`);
      await store.setLimit(params.key, null);
      return { status: 204 };
    },
  });
}
