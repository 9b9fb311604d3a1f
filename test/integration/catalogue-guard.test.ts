import assert from 'node:assert/strict';
import { Hub, INGEST_TOKEN, type JsonResponse } from '../support/hub';

/*
 * Issue 19, found by attacking the running service with an ingest token: a catastrophic pattern in a catalogue
 * schema blocked the whole API (28 "a"s: 3.7 s, doubling per character), and a token without owners rewrote the
 * built-in catalogue and could post the hub's own events.
 */

const CATASTROPHIC = { a: '^(a+)+$', b: '(a|a)*$', c: '(a*)*b', d: '([a-zA-Z]+)*$' };

function assertProblem(res: JsonResponse, status: number, path?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  if (path) assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), [path]);
}

describe('catalogue guard: regular expressions and who may change which event', function () {
  this.timeout(120_000);
  let hub: Hub;

  before(async () => {
    hub = await Hub.start('catalogue_guard');
  });
  after(() => hub?.close());

  describe('ReDoS', () => {
    before(async () => {
      const properties = Object.fromEntries(Object.entries(CATASTROPHIC).map(([k, pattern]) => [k, { type: 'string', pattern }]));
      const put = await hub.call('PUT', '/events/redos.probe', {
        displayName: 'Catastrophic patterns', description: 'the classic ones',
        payloadSchema: { type: 'object', properties, patternProperties: { '^(x+)+$': { type: 'string' } } },
      }, INGEST_TOKEN);
      assert.equal(put.status, 201, JSON.stringify(put.body));
    });

    async function timedIngest(attack: string): Promise<{ ms: number; res: JsonResponse; healthMs: number }> {
      const payload = { ...Object.fromEntries(Object.keys(CATASTROPHIC).map((k) => [k, attack])), [`${'x'.repeat(attack.length - 1)}!`]: 'y' };
      const started = performance.now();
      let healthMs = Number.NaN;
      // the API must keep answering while the payload is checked
      const health = fetch(`${hub.baseUrl}/healthz`).then(() => (healthMs = performance.now() - started));
      const res = await hub.call('POST', '/ingest', { event: 'redos.probe', payload }, INGEST_TOKEN);
      const ms = performance.now() - started;
      await health;
      return { ms, res, healthMs };
    }

    it('checks payloads against the classic catastrophic patterns in linear time (26 characters: was seconds)', async () => {
      const { ms, res, healthMs } = await timedIngest(`${'a'.repeat(26)}!`);
      assertProblem(res, 400);
      // b and d match (at the end of the text), after trying every way to split the a's on a backtracking engine
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path).sort(), ['payload.a', 'payload.c']);
      assert.ok(ms < 1000, `ingest took ${Math.round(ms)} ms`);
      assert.ok(healthMs < 1000, `GET /healthz waited ${Math.round(healthMs)} ms`);
    });

    it('stays fast for 40 000 characters, where a backtracking engine would never finish', async () => {
      const { ms, res, healthMs } = await timedIngest(`${'a'.repeat(40_000)}!`);
      assertProblem(res, 400);
      assert.ok(ms < 3000, `ingest took ${Math.round(ms)} ms`);
      assert.ok(healthMs < 3000, `GET /healthz waited ${Math.round(healthMs)} ms`);
      const ok = await hub.call('POST', '/ingest', { event: 'redos.probe', payload: { a: 'aaaa', c: 'aab', d: 'abc' } }, INGEST_TOKEN);
      assert.equal(ok.status, 202, JSON.stringify(ok.body));
    });

    it('refuses a pattern the linear-time engine cannot run (lookahead, backreference) with 400 naming the field', async () => {
      const lookahead = await hub.call('PUT', '/events/redos.lookahead', {
        displayName: 'x', description: 'x', payloadSchema: { type: 'object', properties: { p: { type: 'string', pattern: '^(?=a)a+$' } } },
      }, INGEST_TOKEN);
      assertProblem(lookahead, 400, 'payloadSchema.properties.p.pattern');
      const backref = await hub.call('PUT', '/events/redos.backref', {
        displayName: 'x', description: 'x', payloadSchema: { type: 'object', patternProperties: { '(a)\\1': { type: 'string' } } },
      }, INGEST_TOKEN);
      assertProblem(backref, 400, 'payloadSchema.patternProperties.(a)\\1');
    });
  });

  describe('who may change which event type', () => {
    const eventType = { displayName: 'Taken over', description: 'x', payloadSchema: { type: 'object', required: ['never'], properties: { never: { type: 'string' } } } };
    let other: string;
    let incidentOwner: string;
    before(async () => {
      other = (await hub.call('POST', '/tokens', { name: 'another service', role: 'ingest' })).body.token;
      incidentOwner = (await hub.call('POST', '/tokens', { name: 'incident service', role: 'ingest', owners: ['incident'] })).body.token;
    });

    it('keeps built-in event types read-only to ingest tokens, with or without owners, and everyone can still ingest them', async () => {
      const before = (await hub.call('GET', '/events/incident.created')).body;
      assertProblem(await hub.call('PUT', '/events/incident.created', eventType, INGEST_TOKEN), 403);
      assertProblem(await hub.call('PUT', '/events/incident.created', eventType, incidentOwner), 403);
      assert.deepEqual((await hub.call('GET', '/events/incident.created')).body, before);
      const ingest = await hub.call('POST', '/ingest', { event: 'incident.created', payload: before.example }, INGEST_TOKEN);
      assert.equal(ingest.status, 202, JSON.stringify(ingest.body));
      // the owner may still add event types of its own
      assert.equal((await hub.call('PUT', '/events/incident.escalated', { displayName: 'Escalated', description: 'x' }, incidentOwner)).status, 201);
    });

    it("keeps the hub's own events (hub.*) from ingest tokens: neither registered nor posted", async () => {
      assertProblem(await hub.call('PUT', '/events/hub.delivery.exhausted', eventType, INGEST_TOKEN), 403);
      assertProblem(await hub.call('PUT', '/events/hub.fake.alarm', { displayName: 'x', description: 'x' }, INGEST_TOKEN), 403);
      const example = (await hub.call('GET', '/events/hub.delivery.exhausted')).body.example;
      assertProblem(await hub.call('POST', '/ingest', { event: 'hub.delivery.exhausted', payload: example }, INGEST_TOKEN), 403);
      assert.equal((await hub.call('GET', '/events/hub.fake.alarm')).status, 404);
    });

    it('lets a token without owners change only the event types it registered', async () => {
      const mine = { displayName: 'Order shipped', description: 'v1' };
      assert.equal((await hub.call('PUT', '/events/shop.order.shipped', mine, other)).status, 201);
      assert.equal((await hub.call('PUT', '/events/shop.order.shipped', { ...mine, description: 'v2' }, other)).status, 200);
      assertProblem(await hub.call('PUT', '/events/shop.order.shipped', eventType, INGEST_TOKEN), 403);
      assert.equal((await hub.call('GET', '/events/shop.order.shipped')).body.description, 'v2');
      // an admin may change any event type, and a token listing the owner speaks for it
      const shop = (await hub.call('POST', '/tokens', { name: 'shop service', role: 'ingest', owners: ['shop'] })).body.token;
      assert.equal((await hub.call('PUT', '/events/shop.order.shipped', { ...mine, description: 'v3' }, shop)).status, 200);
      assert.equal((await hub.call('PUT', '/events/shop.order.shipped', { ...mine, description: 'v4' })).status, 200);
    });
  });
});
