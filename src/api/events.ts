import { z } from 'zod';
import { checkEventId, checkEventTypeInput, eventTypeInputSchema } from '../catalogue/validate';
import { ownerOfEventId } from '../catalogue/types';
import { BUILTIN_EVENT_IDS, type EventCatalogue } from '../catalogue/store';
import type { AuthContext } from '../auth/tokens';
import { badRequest, HttpProblem, notFound } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import { anyObject, idParams } from './schemas';

const eventType = z
  .object({
    id: z.string(),
    owner: z.string(),
    displayName: z.string(),
    description: z.string(),
    category: z.string().optional(),
    payloadSchema: anyObject.optional(),
    subjectKey: z.string().optional(),
    resolves: z.boolean().optional(),
    example: anyObject.optional(),
  })
  .meta({ id: 'EventType' });

/**
 * The PUT body: the event type as GET shows it, so a read-modify-write works. `id` and `owner` are
 * optional and may only repeat what the path already says.
 */
const putBody = z.strictObject({
  ...eventTypeInputSchema.shape,
  id: z.string().optional().meta({ description: 'If given, must equal the id in the path' }),
  owner: z.string().optional().meta({ description: 'If given, must equal the owner the id names (the part before the first dot)' }),
});

/**
 * What an ingest token may register (issue 19): never the hub's own events (`hub.*`) or the built-in catalogue;
 * with listed owners, event types of those owners; without, new event types and those it registered itself.
 * Anything else is 403 problem+json; admins may change every event type.
 */
async function mayRegister(catalogue: EventCatalogue, id: string, owner: string, auth: AuthContext): Promise<void> {
  const refuse = (why: string) => new HttpProblem(403, 'Forbidden', why);
  if (owner === 'hub') throw refuse('The hub\'s own events (hub.*) are read-only to ingest tokens');
  if (BUILTIN_EVENT_IDS.has(id)) throw refuse(`${id} is a built-in event type: read-only to ingest tokens (an admin may change it)`);
  if (auth.owners.length > 0) {
    if (!auth.owners.includes(owner)) throw refuse(`This token may not register events of owner ${owner}`);
    return;
  }
  const existing = await catalogue.registration(id);
  if (existing && existing.registeredBy !== auth.tokenId) {
    throw refuse(`${id} was registered by another token: a token without listed owners changes only the event types it registered`);
  }
}

/** `/events`: the catalogue; domain services register their own event types. */
export function eventRoutes(routes: ApiRoutes, catalogue: EventCatalogue): void {
  routes.add({
    method: 'get',
    path: '/events',
    summary: 'List the event catalogue',
    tag: 'events',
    roles: ['admin', 'manager', 'viewer'],
    responses: { 200: { description: 'The catalogue', schema: z.object({ items: z.array(eventType) }) } },
    handler: async () => ({ status: 200, body: { items: await catalogue.list() } }),
  });
  routes.add({
    method: 'get',
    path: '/events/:id',
    summary: 'Get one event type',
    tag: 'events',
    roles: ['admin', 'manager', 'viewer'],
    params: idParams,
    responses: { 200: { description: 'The event type', schema: eventType } },
    handler: async ({ params }) => {
      const e = await catalogue.get(params.id);
      if (!e) throw notFound(`Event type ${params.id} is not in the catalogue`);
      return { status: 200, body: e };
    },
  });
  routes.add({
    method: 'put',
    path: '/events/:id',
    summary: 'Create or update an event type',
    tag: 'events',
    roles: ['admin', 'ingest'],
    params: idParams,
    body: putBody,
    responses: {
      200: { description: 'Updated', schema: eventType },
      201: { description: 'Created', schema: eventType, links: { GetEvent: { operation: 'get /events/:id', parameters: { id: '$request.path.id' } } } },
    },
    handler: async ({ params, body, auth }) => {
      const idProblems = checkEventId(params.id);
      if (idProblems.length) throw badRequest('The event id is invalid', idProblems);
      const owner = ownerOfEventId(params.id);
      if (auth.role === 'ingest') await mayRegister(catalogue, params.id, owner, auth);
      const { id, owner: givenOwner, ...input } = body;
      const mismatch = [
        ...(id !== undefined && id !== params.id ? [{ path: 'body.id', message: `must be "${params.id}" (the id in the path) or left out` }] : []),
        ...(givenOwner !== undefined && givenOwner !== owner ? [{ path: 'body.owner', message: `must be "${owner}" (the owner the id names) or left out` }] : []),
      ];
      if (mismatch.length) throw badRequest('The body disagrees with the path', mismatch);
      const problems = checkEventTypeInput(input);
      if (problems.length) throw badRequest('The event type is invalid', problems);
      const { value, created } = await catalogue.put(params.id, input, auth.tokenId);
      return { status: created ? 201 : 200, body: value };
    },
  });
}
