import { z } from 'zod';
import { DELIVERY_STATUSES } from '../../entities/delivery.entity';
import type { DeliveryStats } from '../deliveries/stats';
import type { ApiRoutes } from '../http/routes';

const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, z.number().int()])) as Record<(typeof DELIVERY_STATUSES)[number], z.ZodNumber>;

const series = z
  .object({
    bucket: z.enum(['hour', 'day']),
    since: z.string().meta({ description: 'Start of the first bucket (UTC)' }),
    until: z.string().meta({ description: 'End of the last bucket (the current one, still filling)' }),
    subscriptionId: z.string().nullable(),
    series: z.array(z.object({ at: z.string().meta({ description: 'Start of the bucket (UTC)' }), total: z.number().int(), ...counts })).meta({
      description: 'Every bucket of the range, oldest first: deliveries created in it, by their status now',
    }),
  })
  .meta({ id: 'DeliverySeries' });

const bySubscription = z
  .object({
    hours: z.number(),
    items: z.array(
      z.object({
        subscriptionId: z.string(),
        total: z.number().int(),
        ...counts,
        successRate: z.number().nullable().meta({ description: 'success / (success + failed) of the range; null while none finished' }),
        lastAt: z.string().meta({ description: 'When its newest delivery of the range was created' }),
      }),
    ).meta({ description: 'Subscriptions with at least one delivery in the range' }),
  })
  .meta({ id: 'SubscriptionStats' });

// module level: a schema with a meta id is registered once per process (a second buildApi would clash)
const systemsSeen = z
  .object({ items: z.array(z.object({ id: z.string(), lastSeenAt: z.string(), events: z.number().int() })) })
  .meta({ id: 'SystemsSeen' });

/** `/stats`: the delivery log aggregated over time and per subscription (the admin UI's charts). */
export function statsRoutes(routes: ApiRoutes, stats: DeliveryStats): void {
  const read = ['admin', 'manager', 'viewer'] as const;
  routes.add({
    method: 'get', path: '/systems', summary: 'The systems named by events received lately (for the subscription form)', tag: 'events', roles: [...read],
    query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }).strict(),
    responses: {
      200: {
        description: 'Systems seen, most recently seen first (at most 500)',
        schema: systemsSeen,
      },
    },
    handler: async ({ query }) => ({ status: 200, body: { items: await stats.systems(query.days) } }),
  });
  routes.add({
    method: 'get', path: '/stats/deliveries', summary: 'Deliveries by status over time (hourly or daily buckets)', tag: 'deliveries', roles: [...read],
    query: z
      .object({
        bucket: z.enum(['hour', 'day']).default('hour'),
        hours: z.coerce.number().int().min(1).max(24 * 90).default(24).meta({ description: 'How far back (at most 90 days)' }),
        subscriptionId: z.string().min(1).max(64).optional(),
      })
      .strict(),
    responses: { 200: { description: 'One bucket per hour or day of the range', schema: series } },
    handler: async ({ query }) => ({ status: 200, body: await stats.series(query.bucket, query.hours, query.subscriptionId) }),
  });
  routes.add({
    method: 'get', path: '/stats/subscriptions', summary: 'Deliveries and success rate per subscription', tag: 'deliveries', roles: [...read],
    query: z.object({ hours: z.coerce.number().int().min(1).max(24 * 90).default(24) }).strict(),
    responses: { 200: { description: 'Per subscription with deliveries in the range', schema: bySubscription } },
    handler: async ({ query }) => ({ status: 200, body: await stats.bySubscription(query.hours) }),
  });
}
