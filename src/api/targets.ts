import { z } from 'zod';
import { badRequest } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import type { TargetService } from '../targets/service';
import { page, pageQuery } from './schemas';

const STATES = ['closed', 'open', 'half_open'] as const;

/** One target's health: its circuit, the failure rate in the window, the subscriptions pointing at it. */
export const targetSchema = z
  .object({
    target: z.string().meta({ description: 'URL origin, Slack channel, Jira project, ... (never a secret)' }),
    provider: z.string(),
    state: z.enum(STATES).meta({ description: 'closed: attempts go; open: attempts wait for the cool-down; half_open: one probe is in flight' }),
    failureRate: z.number().nullable().meta({ description: 'Failed share (0..1) of the attempts in the window; null without attempts' }),
    attemptsInWindow: z.number().int(),
    openedAt: z.string().nullable(),
    nextProbeAt: z.string().nullable(),
    failingSince: z.string().nullable().meta({ description: 'First failure since the last success' }),
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
    subscriptions: z.array(z.object({ id: z.string(), name: z.string(), enabled: z.boolean(), pausedReason: z.string().nullable() })),
  })
  .meta({ id: 'Target' });

const listQuery = z.object({ state: z.enum(STATES).optional(), ...pageQuery }).strict();

/** `/targets`: the health of every destination the hub has sent to (docs/delivery.md "Target health and hub events"). */
export function targetRoutes(routes: ApiRoutes, targets: TargetService): void {
  routes.add({
    method: 'get', path: '/targets', summary: 'List targets with their circuit state and failure rate', tag: 'targets',
    roles: ['admin', 'manager', 'viewer'],
    query: listQuery,
    responses: { 200: { description: 'A page of targets', schema: page(targetSchema) } },
    handler: async ({ query }) => {
      const r = await targets.list({ state: query.state }, query.limit, decodeTargetCursor(query.cursor));
      return { status: 200, body: { items: r.items, nextCursor: r.next ? Buffer.from(r.next).toString('base64url') : null } };
    },
  });
}

function decodeTargetCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || Buffer.from(key).toString('base64url') !== cursor) {
    throw badRequest('The cursor is invalid', [{ path: 'query.cursor', message: 'not a cursor from a previous page' }]);
  }
  return key;
}
