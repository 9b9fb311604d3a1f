import { z } from 'zod';
import { badRequest, HttpProblem } from '../http/problem';
import type { RateLimiter } from '../ingest/rate-limit';
import type { ApiRoutes } from '../http/routes';
import type { IngestService } from '../ingest/service';
import { anyObject, isoTime } from './schemas';

const EMISSION_ID = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain letters, digits and . _ : @ - only');

const ingestBody = z
  .object({
    event: z.string().min(1).max(200),
    id: EMISSION_ID.optional().meta({ description: 'Emission id: the idempotency key. Generated if absent.' }),
    occurredAt: isoTime.optional(),
    systemIds: z.array(z.string().min(1).max(200)).max(1000).optional(),
    payload: anyObject,
  })
  .strict();

const ingestResult = z
  .object({
    id: z.string(),
    event: z.string(),
    deliveries: z.array(z.object({ id: z.string(), subscriptionId: z.string(), status: z.literal('pending') })),
  })
  .meta({ id: 'IngestResult' });

/** `POST /ingest`: domain services post events here. */
export function ingestRoutes(routes: ApiRoutes, ingest: IngestService, maxBodyBytes: number, limiter: RateLimiter): void {
  routes.add({
    method: 'post',
    path: '/ingest',
    summary: 'Post an event; a 2xx means the deliveries are durable',
    tag: 'ingest',
    roles: ['ingest', 'admin'],
    body: ingestBody,
    bodyLimitBytes: maxBodyBytes,
    responses: {
      202: {
        description: 'Accepted (first receipt)', schema: ingestResult,
        links: {
          GetDelivery: { operation: 'get /deliveries/:id', parameters: { id: '$response.body#/deliveries/0/id' } },
          RetryDelivery: { operation: 'post /deliveries/:id/retry', parameters: { id: '$response.body#/deliveries/0/id' } },
          CancelDelivery: { operation: 'post /deliveries/:id/cancel', parameters: { id: '$response.body#/deliveries/0/id' } },
        },
      },
      429: { description: 'Over the rate limit; see Retry-After' },
      200: { description: 'Already received (same id): the same answer, no new delivery', schema: ingestResult },
    },
    handler: async ({ body, auth, req }) => {
      const waitMs = limiter.take(auth.tokenId);
      if (waitMs > 0) {
        throw new HttpProblem(429, 'Too Many Requests', 'This token is over its ingest rate limit', undefined, {
          'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
        });
      }
      const key = req.header('idempotency-key');
      if (key !== undefined) {
        const parsed = EMISSION_ID.safeParse(key);
        if (!parsed.success) throw badRequest('Idempotency-Key is invalid', [{ path: 'header.Idempotency-Key', message: parsed.error.issues[0].message }]);
        if (body.id !== undefined && body.id !== key) {
          throw badRequest('Idempotency-Key and id differ', [{ path: 'body.id', message: 'must equal the Idempotency-Key header' }]);
        }
      }
      const { created, result } = await ingest.ingest({ ...body, id: body.id ?? key }, auth);
      return { status: created ? 202 : 200, body: result };
    },
  });
}
