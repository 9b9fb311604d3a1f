import { z } from 'zod';
import { DELIVERY_STATUSES } from '../../entities/delivery.entity';
import type { DeliveryService } from '../deliveries/service';
import type { ApiRoutes } from '../http/routes';
import { decodeCursor, encodeCursor } from './cursor';
import { anyObject, idParams, isoTime, page, pageQuery } from './schemas';


const delivery = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    provider: z.string(),
    event: z.string(),
    emissionId: z.string(),
    systemIds: z.array(z.string()),
    payload: anyObject,
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable(),
    nextRetryAt: z.string().nullable(),
    externalId: z.string().nullable(),
    error: z.string().nullable(),
    workflowId: z.string(),
    temporalUrl: z.string(),
    test: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Delivery' });

const attempt = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  outcome: z.enum(['success', 'retryable', 'permanent']),
  httpStatus: z.number().int().optional(),
  errorCode: z.string().optional(),
  error: z.string().optional(),
  log: z.string().optional().meta({ description: "Output kept with the attempt, e.g. a script's console (sanitised)." }),
  trigger: z.enum(['scheduled', 'manual']),
});

const filters = {
  status: z.enum(DELIVERY_STATUSES).optional(),
  subscriptionId: z.string().max(64).optional(),
  event: z.string().max(200).optional(),
  provider: z.string().max(100).optional(),
  systemId: z.string().max(200).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
};

const recoverBody = z
  .object({
    subscriptionId: z.string().max(64).optional(),
    event: z.string().max(200).optional(),
    status: z.literal('failed'),
    since: isoTime,
    until: isoTime.optional(),
  })
  .strict();

const recovery = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'done', 'failed']).meta({ description: '`running` until every selected delivery was handled' }),
    filter: recoverBody.meta({ description: 'The selection; `until` is fixed to the time of the request when it was left out' }),
    total: z.number().int().meta({ description: 'Failed deliveries the selection held when the recovery was asked for (at most 10 000)' }),
    done: z.number().int().meta({ description: 'Redeliveries requested so far' }),
    failed: z.number().int().meta({ description: 'Deliveries whose redelivery could not be requested' }),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Recovery' });

/** `/deliveries`: the delivery log and its controls. */
export function deliveryRoutes(routes: ApiRoutes, deliveries: DeliveryService): void {
  const read = ['admin', 'manager', 'viewer'] as const;
  const write = ['admin', 'manager'] as const;
  routes.add({
    method: 'get', path: '/deliveries', summary: 'The delivery log, newest first', tag: 'deliveries', roles: [...read],
    query: z.object({ ...filters, ...pageQuery }).strict(),
    responses: { 200: { description: 'A page of deliveries', schema: page(delivery) } },
    handler: async ({ query }) => {
      const { limit, cursor, ...filter } = query;
      const r = await deliveries.list(filter, limit, decodeCursor(cursor));
      return { status: 200, body: { items: r.items, nextCursor: encodeCursor(r.next) } };
    },
  });
  // before /deliveries/:id so that "stats" is not taken for an id
  routes.add({
    method: 'get', path: '/deliveries/stats', summary: 'Totals by status, event and provider', tag: 'deliveries', roles: [...read],
    query: z.object({ hours: z.coerce.number().min(1).max(24 * 90).default(24) }).strict(),
    responses: { 200: { description: 'Totals', schema: anyObject } },
    handler: async ({ query }) => ({ status: 200, body: await deliveries.stats(query.hours) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/recover', summary: 'Redeliver failed deliveries in a range, in the background', tag: 'deliveries', roles: [...write],
    body: recoverBody,
    responses: {
      202: {
        description: 'Recovery started; `Location` (GET /deliveries/recover/{id}) reports its progress',
        schema: recovery.extend({ count: z.number().int().meta({ description: 'The same as `total`' }) }),
      },
    },
    handler: async ({ body }) => {
      const r = await deliveries.recover(body);
      return { status: 202, body: { ...r, count: r.total }, headers: { location: `/api/v1/deliveries/recover/${r.id}` } };
    },
  });
  routes.add({
    method: 'get', path: '/deliveries/recover/:id', summary: 'The progress of a bulk recovery', tag: 'deliveries', roles: [...read],
    params: idParams,
    responses: { 200: { description: 'The recovery', schema: recovery } },
    handler: async ({ params }) => ({ status: 200, body: await deliveries.recovery(params.id) }),
  });
  routes.add({
    method: 'get', path: '/deliveries/:id', summary: 'One delivery with its attempt log', tag: 'deliveries', roles: [...read],
    params: idParams,
    responses: { 200: { description: 'The delivery', schema: delivery.extend({ attemptLog: z.array(attempt) }) } },
    handler: async ({ params }) => ({ status: 200, body: await deliveries.get(params.id) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/:id/retry', summary: 'Attempt a delivery again now', tag: 'deliveries', roles: [...write],
    params: idParams,
    responses: { 202: { description: 'Attempt requested', schema: z.object({ id: z.string(), action: z.enum(['woken', 'restarted', 'started']) }) } },
    handler: async ({ params }) => ({ status: 202, body: await deliveries.retry(params.id) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/:id/cancel', summary: 'Stop further retries', tag: 'deliveries', roles: [...write],
    params: idParams,
    responses: { 202: { description: 'Cancelled', schema: z.object({ id: z.string() }) } },
    handler: async ({ params }) => {
      await deliveries.cancel(params.id);
      return { status: 202, body: { id: params.id } };
    },
  });
}
