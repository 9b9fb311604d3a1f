import { z } from 'zod';
import type { ApiRoutes } from '../http/routes';
import type { IngestService } from '../ingest/service';
import type { SubscriptionService } from '../subscriptions/service';
import type { TargetService } from '../targets/service';
import type { HubEvents } from '../catalogue/hub-events';
import { safeErrorMessage } from '../../providers/shared/sanitise';
import type { DeliveryService } from '../deliveries/service';
import type { Logger } from '../logger';
import { hubEmissionId } from '../targets/health';
import { targetSchema } from './targets';
import { decodeCursor, encodeCursor } from './cursor';
import { anyObject, idParams, page, pageQuery } from './schemas';

const MAX_DELAY_MS = 7 * 24 * 3_600_000;

const retryPolicy = z.union([
  z
    .object({
      maxAttempts: z.number().int().min(1).max(50),
      initialIntervalMs: z.number().int().min(0).max(MAX_DELAY_MS),
      backoffCoefficient: z.number().min(1).max(10),
      maxIntervalMs: z.number().int().min(0).max(MAX_DELAY_MS),
    })
    .strict(),
  z.object({ scheduleMs: z.array(z.number().int().min(0).max(MAX_DELAY_MS)).max(49) }).strict(),
]);

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  provider: z.string().min(1).max(100),
  connectionId: z.string().min(1).max(64).nullable().optional(),
  config: anyObject.meta({
    description:
      "Validated by the provider's configSchema; secret fields are write-only. An http(s) URL anywhere in it whose host is a literal address " +
      'the outbound policy refuses (169.254.169.254, 10.0.0.0/8, ::1, localhost, ... unless OUTBOUND_ALLOWED_NETWORKS allows it) is refused: 400 naming the field.',
  }),
  event: z.string().min(1).max(200),
  systemIds: z.array(z.string().min(1).max(200)).max(1000),
  enabled: z.boolean(),
  retryPolicy: retryPolicy.nullable().optional(),
  coalesceFollowUps: z.boolean().nullable().optional().meta({
    description:
      "Collapse queued follow-ups of one record into the newest state (docs/DESIGN.md decision 12). Null or absent: the provider's default (on where follow-ups edit one record: Slack in update mode, Telegram in edit mode, Discord, Webex in edit mode, PagerDuty, Opsgenie; off where they are a history: Jira comments, e-mail and thread replies).",
  }),
};

const createBody = z.object({ ...fields, systemIds: fields.systemIds.default([]), enabled: fields.enabled.default(true) }).strict();
const patchBody = z.object(fields).partial().strict();

const subscription = z
  .object({
    id: z.string(),
    ...fields,
    description: z.string().nullable(),
    connectionId: z.string().nullable(),
    retryPolicy: retryPolicy.nullable(),
    coalesceFollowUps: z.boolean().meta({ description: "Whether queued follow-ups are collapsed (the subscription's switch, else the provider's default)." }),
    pausedReason: z.string().nullable(),
    target: targetSchema.omit({ subscriptions: true }).nullable().optional().meta({
      description: 'Health of the target this subscription last delivered to (GET /subscriptions/{id} only); null before its first attempt',
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Subscription' });

const listQuery = z
  .object({
    event: z.string().optional(),
    provider: z.string().optional(),
    enabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    ...pageQuery,
  })
  .strict();

/** `/subscriptions`: wire one event to one provider. */
export function subscriptionRoutes(
  routes: ApiRoutes,
  subs: SubscriptionService,
  ingest: IngestService,
  targets: TargetService,
  hubEvents: HubEvents,
  deliveries: Pick<DeliveryService, 'afterSubscriptionDeleted'>,
  logger: Logger,
): void {
  const read = ['admin', 'manager', 'viewer'] as const;
  const write = ['admin', 'manager'] as const;
  routes.add({
    method: 'get', path: '/subscriptions', summary: 'List subscriptions', tag: 'subscriptions', roles: [...read],
    query: listQuery,
    responses: { 200: { description: 'A page of subscriptions', schema: page(subscription) } },
    handler: async ({ query }) => {
      const { limit, cursor, ...filter } = query;
      const r = await subs.list(filter, limit, decodeCursor(cursor));
      return { status: 200, body: { items: r.items, nextCursor: encodeCursor(r.next) } };
    },
  });
  routes.add({
    method: 'post', path: '/subscriptions', summary: 'Create a subscription', tag: 'subscriptions', roles: [...write],
    body: createBody,
    responses: {
      201: {
        description: 'Created', schema: subscription,
        links: {
          GetSubscription: { operation: 'get /subscriptions/:id', parameters: { id: '$response.body#/id' } },
          PatchSubscription: { operation: 'patch /subscriptions/:id', parameters: { id: '$response.body#/id' } },
          TestSubscription: { operation: 'post /subscriptions/:id/test', parameters: { id: '$response.body#/id' } },
          ReplaySubscription: { operation: 'post /subscriptions/:id/replay', parameters: { id: '$response.body#/id' } },
          DeleteSubscription: { operation: 'delete /subscriptions/:id', parameters: { id: '$response.body#/id' } },
        },
      },
    },
    handler: async ({ body, auth }) => ({ status: 201, body: await subs.create(body, auth.role) }),
  });
  routes.add({
    method: 'post', path: '/subscriptions/preview', summary: "What a subscription would send for the event type's example (nothing is sent or saved)",
    tag: 'subscriptions', roles: [...write],
    body: createBody.extend({
      subscriptionId: z.string().min(1).max(64).optional().meta({ description: 'Editing this subscription: secrets left out or masked are taken from it.' }),
    }),
    responses: {
      200: {
        description: 'The requests the provider would make (secrets replaced); the answers were simulated',
        schema: z.object({ requests: z.array(z.object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), body: z.string().optional() })) }),
      },
    },
    handler: async ({ body }) => {
      const { subscriptionId, ...input } = body;
      return { status: 200, body: { requests: await subs.preview(input, subscriptionId) } };
    },
  });
  routes.add({
    method: 'get', path: '/subscriptions/:id', summary: 'Get a subscription', tag: 'subscriptions', roles: [...read],
    params: idParams,
    responses: { 200: { description: 'The subscription', schema: subscription } },
    handler: async ({ params }) => {
      const view = await subs.get(params.id);
      const target = await targets.ofSubscription(params.id);
      return { status: 200, body: { ...view, target: target ? withoutSubscriptions(target) : null } };
    },
  });
  routes.add({
    method: 'patch', path: '/subscriptions/:id', summary: 'Change a subscription', tag: 'subscriptions', roles: [...write],
    params: idParams, body: patchBody,
    responses: { 200: { description: 'Changed', schema: subscription } },
    handler: async ({ params, body, auth }) => {
      const before = await subs.get(params.id);
      const after = await subs.update(params.id, body, auth.role);
      if (before.pausedReason && !after.pausedReason) {
        await hubEvents.emit('hub.subscription.resumed', hubEmissionId('hub.subscription.resumed', `${after.id}:${after.updatedAt}`), {
          subscriptionId: after.id, subscriptionName: after.name, provider: after.provider, event: after.event, previousReason: before.pausedReason,
        });
      }
      return { status: 200, body: after };
    },
  });
  routes.add({
    method: 'delete', path: '/subscriptions/:id', summary: 'Delete a subscription', tag: 'subscriptions', roles: [...write],
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    handler: async ({ params }) => {
      // its open deliveries end `failed` with it (one transaction); their workflows are told, and so are the
      // deliveries of other subscriptions waiting behind them in their lanes
      const ended = await subs.delete(params.id);
      await deliveries.afterSubscriptionDeleted(params.id, ended, (err) =>
        logger.warn({ subscriptionId: params.id, err: safeErrorMessage(err) }, 'telling a workflow of a deleted subscription failed; it ends at its next wake-up'),
      );
      return { status: 204 };
    },
  });
  routes.add({
    method: 'post', path: '/subscriptions/:id/test', summary: "Send the event type's example through the real pipeline", tag: 'subscriptions',
    roles: [...write], params: idParams,
    responses: { 202: { description: 'Queued', schema: z.object({ deliveryId: z.string() }) } },
    handler: async ({ params }) => ({ status: 202, body: { deliveryId: await ingest.testSend(await subs.getRow(params.id)) } }),
  });
}

function withoutSubscriptions<T extends { subscriptions: unknown }>(t: T): Omit<T, 'subscriptions'> {
  const { subscriptions: _subscriptions, ...rest } = t;
  return rest;
}
