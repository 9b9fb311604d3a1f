import { z } from 'zod';
import type { ApiRoutes } from '../http/routes';
import type { ReplayService } from '../deliveries/replay-service';
import { decodeCursor, encodeCursor } from './cursor';
import { idParams, isoTime, page, pageQuery, temporalDeadlineResponses, backgroundJobLimitResponses } from './schemas';

const replayBody = z
  .object({
    since: isoTime.meta({ description: 'Start of the range (inclusive): emissions the hub received at or after it' }),
    until: isoTime.optional().meta({ description: 'End of the range (exclusive); the time of the request when left out' }),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.until && Date.parse(b.until) <= Date.parse(b.since)) ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
  });

const replay = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    status: z.enum(['running', 'done', 'failed']).meta({ description: '`running` until every emission of the range was handled' }),
    since: z.string(),
    until: z.string().meta({ description: 'The end of the range, fixed when the replay was asked for' }),
    total: z.number().int().meta({ description: 'Emissions of the range the subscription matches (its event and systems)' }),
    delivered: z.number().int().meta({ description: 'Emissions handed to the subscription so far (one new delivery each)' }),
    existing: z.number().int().meta({ description: 'Emissions it already had a delivery of (delivered, failed or in progress): not sent again' }),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Replay' });

const undelivered = z
  .object({
    emissionId: z.string(),
    subscriptionId: z.string(),
    event: z.string(),
    reason: z.enum(['failed', 'skipped']).meta({
      description: '`failed`: its delivery ended failed (POST /deliveries/recover redelivers it); '
        + '`skipped`: no delivery, the subscription was disabled, paused or absent then (POST /subscriptions/{id}/replay sends it)',
    }),
    deliveryId: z.string().nullable(),
    receivedAt: z.string(),
  })
  .meta({ id: 'Undelivered' });

/** `/subscriptions/{id}/replay` and `/undelivered`: what a subscription missed, and sending it late. */
export function replayRoutes(routes: ApiRoutes, replays: ReplayService): void {
  const read = ['admin', 'manager', 'viewer'] as const;
  const write = ['admin', 'manager'] as const;
  routes.add({
    method: 'post', path: '/subscriptions/:id/replay', summary: 'Deliver the events a subscription missed in a range, in the background',
    tag: 'subscriptions', roles: [...write], params: idParams, body: replayBody,
    responses: {
      202: {
        description: 'Replay started; `Location` (GET /subscriptions/{id}/replay/{replayId}) reports its progress', schema: replay,
        links: { GetReplay: { operation: 'get /subscriptions/:id/replay/:replayId', parameters: { id: '$request.path.id', replayId: '$response.body#/id' } } },
      },
      ...temporalDeadlineResponses,
      ...backgroundJobLimitResponses,
    },
    handler: async ({ params, body }) => {
      const r = await replays.replay(params.id, body.since, body.until);
      return { status: 202, body: r, headers: { location: `/api/v1/subscriptions/${encodeURIComponent(params.id)}/replay/${r.id}` } };
    },
  });
  routes.add({
    method: 'get', path: '/subscriptions/:id/replay/:replayId', summary: 'The progress of a replay', tag: 'subscriptions', roles: [...read],
    params: idParams.extend({ replayId: z.string().min(1).max(64) }),
    responses: { 200: { description: 'The replay', schema: replay } },
    handler: async ({ params }) => ({ status: 200, body: await replays.get(params.id, params.replayId) }),
  });
  routes.add({
    method: 'get', path: '/undelivered', summary: 'Emissions × subscriptions that ended failed or were skipped, newest first', tag: 'deliveries',
    roles: [...read],
    query: z
      .object({
        since: isoTime.meta({ description: 'Emissions received at or after this time' }),
        subscriptionId: z.string().max(64).optional(),
        event: z.string().max(200).optional(),
        ...pageQuery,
      })
      .strict(),
    responses: { 200: { description: 'A page of undelivered pairs', schema: page(undelivered) } },
    handler: async ({ query }) => {
      const { limit, cursor, ...filter } = query;
      const r = await replays.undelivered(filter, limit, decodeCursor(cursor));
      return { status: 200, body: { items: r.items, nextCursor: encodeCursor(r.next) } };
    },
  });
}
