import type { Response } from 'express';
import { z } from 'zod';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../entities/delivery.entity';
import { matchesFilter, type DeliveryFilter } from '../deliveries/filter';
import type { LiveDeliveries } from '../deliveries/live';
import type { DeliveryService } from '../deliveries/service';
import type { ApiRoutes } from '../http/routes';
import { decodeCursor, encodeCursor } from './cursor';
import { anyObject, idParams, isoTime, page, pageQuery, temporalDeadlineResponses, backgroundJobLimitResponses } from './schemas';


const delivery = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    provider: z.string(),
    event: z.string(),
    emissionId: z.string(),
    systemIds: z.array(z.string()),
    payload: anyObject.meta({ description: 'The event payload that was delivered; `{}` once retention dropped it (see payloadPurgedAt).' }),
    payloadPurgedAt: z.string().nullable().meta({ description: 'When retention dropped the payload (RETENTION_PAYLOAD_DAYS); null while it is kept.' }),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable(),
    nextRetryAt: z.string().nullable(),
    waitingFor: z.string().nullable().meta({
      description: 'While pending: the earlier delivery of its lane (same record, same subject) that this one waits behind; no attempt is made meanwhile.',
    }),
    supersededBy: z.string().nullable().meta({
      description: 'Status `superseded`: the later delivery of its lane that carried the newer state of the same record instead (this one was never sent).',
    }),
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
  exchanges: z.number().int().meta({
    description: 'How many HTTP requests of this attempt are kept (GET /deliveries/{id}/attempts/{attempt}); 0 when it made none, '
      + 'when they were purged with the payload, or for attempts from before they were kept.',
  }),
});

const headers = z.record(z.string(), z.string());
const exchange = z
  .object({
    request: z.object({
      method: z.string(),
      url: z.string().meta({ description: 'Token-bearing parts masked (`***`); a URL that is itself a secret keeps only its origin.' }),
      headers: headers.meta({ description: 'As the provider sent them; credentials (Authorization, tokens, keys, cookies) masked.' }),
      body: z.string().optional().meta({ description: 'Masked, cut to ATTEMPT_BODY_MAX_BYTES (UTF-8 bytes).' }),
      bodyBytes: z.number().int().optional().meta({ description: 'The size of the body as sent.' }),
      bodyTruncated: z.boolean().optional(),
    }),
    response: z
      .object({
        status: z.number().int(),
        headers,
        body: z.string().meta({ description: 'Masked, cut to ATTEMPT_BODY_MAX_BYTES.' }),
        bodyBytes: z.number().int().meta({ description: 'The size read (at most OUTBOUND_MAX_RESPONSE_BYTES).' }),
        bodyTruncated: z.boolean(),
      })
      .optional()
      .meta({ description: 'Absent when no answer came (see error).' }),
    error: z.string().optional().meta({ description: 'Why no answer came (timeout, refused address, connection reset).' }),
    durationMs: z.number().int(),
  })
  .meta({ id: 'AttemptExchange' });

const attemptDetail = z
  .object({
    deliveryId: z.string(),
    attempt: z.number().int(),
    startedAt: z.string(),
    exchanges: z.array(exchange).meta({ description: 'The HTTP requests of the attempt in the order sent, each with its response.' }),
    purgedAt: z.string().nullable().meta({ description: 'When retention dropped them with the payload (then `exchanges` is empty).' }),
  })
  .meta({ id: 'AttemptDetail' });

// ?status=failed,retrying or ?status=failed&status=retrying
const statusList = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const xs = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const wrong = xs.filter((x) => !(DELIVERY_STATUSES as readonly string[]).includes(x));
    if (!xs.length || wrong.length) {
      ctx.addIssue({ code: 'custom', message: `must be one or more of ${DELIVERY_STATUSES.join(', ')}, comma-separated` });
      return z.NEVER;
    }
    return [...new Set(xs)] as DeliveryStatus[];
  })
  .meta({ description: 'One status or several, comma-separated (or the parameter repeated).' });

const filters = {
  status: statusList.optional(),
  subscriptionId: z.string().max(64).optional(),
  event: z.string().max(200).optional(),
  provider: z.string().max(100).optional(),
  systemId: z.string().max(200).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  search: z.string().trim().min(1).max(300).optional().meta({ description: 'A delivery id, emission id or external id.' }),
};

const recoverBody = z
  .object({
    subscriptionId: z.string().max(64).optional(),
    event: z.string().max(200).optional(),
    status: z.literal('failed'),
    since: isoTime,
    until: isoTime.optional(),
    dryRun: z.boolean().optional().meta({ description: 'Only count what would be redelivered; nothing starts.' }),
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
export function deliveryRoutes(routes: ApiRoutes, deliveries: DeliveryService, live: LiveDeliveries): void {
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
    method: 'get', path: '/deliveries/stream', summary: 'Live updates of the log as server-sent events (same filters as the list)', tag: 'deliveries',
    roles: [...read],
    query: z.object(filters).strict(),
    responses: {
      200: {
        description: 'text/event-stream: `event: ready` (data `{}`) once the feed listens; `event: delivery` with a Delivery as data for each new or changed delivery that passes the filters; '
          + '`event: resync` (data `{}`) when the client should reload the list (many changed at once, or the feed reconnected); '
          + '`event: error` (data `{"detail": ...}`) when live updates are unavailable, before the stream ends',
        contentType: 'text/event-stream',
        schema: streamEvent,
      },
    },
    handler: async ({ query }) => ({ status: 200, stream: (res) => void streamTo(res, live, query) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/recover', summary: 'Redeliver failed deliveries in a range, in the background', tag: 'deliveries', roles: [...write],
    body: recoverBody,
    responses: {
      200: { description: 'dryRun: how many failed deliveries a recovery would redeliver', schema: z.object({ count: z.number().int() }) },
      202: {
        description: 'Recovery started; `Location` (GET /deliveries/recover/{id}) reports its progress',
        schema: recovery.extend({ count: z.number().int().meta({ description: 'The same as `total`' }) }),
        links: { GetRecovery: { operation: 'get /deliveries/recover/:id', parameters: { id: '$response.body#/id' } } },
      },
      ...temporalDeadlineResponses,
      ...backgroundJobLimitResponses,
    },
    handler: async ({ body }) => {
      const { dryRun, ...filter } = body;
      if (dryRun) return { status: 200, body: { count: await deliveries.countRecoverable(filter) } };
      const r = await deliveries.recover(filter);
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
    method: 'get', path: '/deliveries/:id/attempts/:attempt', summary: 'The requests one attempt sent and the responses it got', tag: 'deliveries',
    roles: [...read],
    params: z.object({ id: idParams.shape.id, attempt: z.coerce.number().int().min(1).max(1_000_000) }),
    responses: { 200: { description: 'The attempt with its HTTP exchanges (secrets masked)', schema: attemptDetail } },
    handler: async ({ params }) => ({ status: 200, body: await deliveries.attempt(params.id, params.attempt) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/:id/retry', summary: 'Attempt a delivery again now', tag: 'deliveries', roles: [...write],
    params: idParams,
    responses: {
      202: { description: 'Attempt requested', schema: z.object({ id: z.string(), action: z.enum(['woken', 'restarted', 'started']) }) },
      ...temporalDeadlineResponses,
    },
    handler: async ({ params }) => ({ status: 202, body: await deliveries.retry(params.id) }),
  });
  routes.add({
    method: 'post', path: '/deliveries/:id/cancel', summary: 'Stop further retries', tag: 'deliveries', roles: [...write],
    params: idParams,
    responses: { 202: { description: 'Cancelled', schema: z.object({ id: z.string() }) }, ...temporalDeadlineResponses },
    handler: async ({ params }) => {
      await deliveries.cancel(params.id);
      return { status: 202, body: { id: params.id } };
    },
  });
}

const HEARTBEAT_MS = 20_000;

/** One server-sent event of GET /deliveries/stream as a client's parser gives it (its data is JSON text). */
const streamEvent = z
  .object({
    event: z.enum(['ready', 'delivery', 'resync', 'error']),
    data: z.string().meta({ description: 'JSON: a Delivery for `delivery`, `{}` for `ready` and `resync`, `{"detail": ...}` for `error`' }),
  })
  .meta({ description: 'One event of the stream' });

/** Streams the log's changes that pass `filter` to one client until it goes away. */
async function streamTo(res: Response, live: LiveDeliveries, filter: DeliveryFilter): Promise<void> {
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const send = (event: string, data: unknown) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  let stop = () => {};
  const heartbeat = setInterval(() => !res.writableEnded && res.write(': ping\n\n'), HEARTBEAT_MS);
  const end = () => {
    clearInterval(heartbeat);
    stop();
    if (!res.writableEnded) res.end();
  };
  res.on('close', end);
  try {
    stop = await live.subscribe({
      changed: (views) => views.filter((d) => matchesFilter(d, filter)).forEach((d) => send('delivery', d)),
      resync: () => send('resync', {}),
      ended: end,
    });
    if (res.destroyed) return end();
    // the client loads the list after this, so nothing between its load and our LISTEN is missed
    send('ready', {});
  } catch {
    send('error', { detail: 'Live updates are unavailable right now' });
    end();
  }
}
