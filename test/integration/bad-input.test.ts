import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH } from '../../src/http/validation';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, type JsonResponse } from '../support/hub';

// Bad input is a 4xx problem+json, never a 500 (issue 18): cookies and paths that do not decode, bodies nested
// past the limit, numbers JSON cannot keep, keys JavaScript would drop. Through the real HTTP API.
describe('bad input: a 4xx problem+json on every route, never a 500', function () {
  this.timeout(120_000);
  let hub: Hub;
  let logsSeen = 0;

  before(async () => {
    hub = await Hub.start('bad_input');
  });
  after(async () => {
    await hub?.close();
  });
  beforeEach(() => {
    logsSeen = hub.logs.length;
  });
  afterEach(() => {
    // a 500 is always logged as "unexpected error in request": none may have happened during the test
    const unexpected = hub.logs.slice(logsSeen).filter((l) => l.includes('unexpected error in request'));
    assert.deepEqual(unexpected, [], 'no request ended in an unexpected error');
  });

  /** A raw request (no JSON encoding of ours), the answer parsed. */
  async function send(method: string, path: string, opts: { body?: string; token?: string | null; cookie?: string; rawPath?: boolean } = {}): Promise<JsonResponse> {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? ADMIN_TOKEN}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    const res = await fetch(`${hub.baseUrl}/api/v1${path}`, { method, headers, body: opts.body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  function assertProblem(res: JsonResponse, status: number, paths?: string[]) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.body.status, status);
    if (paths) assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), paths, JSON.stringify(res.body));
    return res.body as { detail: string; errors: { path: string; message: string }[] };
  }

  const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

  it('answers every route called with a malformed ih_session cookie (%zz) and no token with a 4xx, never a 500', async () => {
    const doc = (await send('GET', '/openapi.json', { token: null })).body as { paths: Record<string, Record<string, unknown>> };
    let called = 0;
    for (const [template, ops] of Object.entries(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, 'x');
      for (const method of Object.keys(ops)) {
        const res = await send(method.toUpperCase(), path, { token: null, cookie: 'ih_session=%zz', ...(['post', 'put', 'patch'].includes(method) ? { body: '{}' } : {}) });
        called++;
        assert.ok(res.status < 500, `${method.toUpperCase()} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status >= 400) assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', `${method} ${path}`);
      }
    }
    assert.ok(called > 40, `walked ${called} operations`);
    // the cookie is no session: a protected route asks for a token, the public session look says signed out
    assertProblem(await send('GET', '/deliveries', { token: null, cookie: 'ih_session=%zz' }), 401);
    const look = await send('GET', '/session', { token: null, cookie: 'ih_session=%zz; other=1' });
    assert.deepEqual([look.status, look.body], [200, { signedIn: false }]);
    // a token still works beside it
    assert.equal((await send('GET', '/deliveries', { cookie: 'ih_session=%E0%A4%A' })).status, 200);
  });

  it('answers a path parameter with a bad % escape with 400 naming the path, with or without a token', async () => {
    for (const path of ['/deliveries/%zz', '/subscriptions/%E0%A4%A', '/targets/%zz/limit', '/deliveries/%zz/retry']) {
      const method = path.endsWith('/retry') ? 'POST' : 'GET';
      const body = assertProblem(await send(method, path), 400, ['path']);
      assert.match(body.detail, /percent-encoded/);
      assertProblem(await send(method, path, { token: null }), 400, ['path']);
    }
    // a bad escape in the query is kept as sent (and then judged like any value); an unknown path with one is a 404
    assert.equal((await send('GET', '/deliveries?event=%zz')).status, 200);
    assertProblem(await send('GET', '/nothing/%zz'), 404);
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels with 400, on the public POST /session too (10 000 levels)`, async () => {
    const deep = nested(10_000);
    assertProblem(await send('POST', '/session', { body: deep, token: null }), 400);
    const arrays = assertProblem(await send('POST', '/session', { body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`, token: null }), 400);
    assert.equal(arrays.errors[0].path, ['body', ...Array(MAX_JSON_DEPTH).fill('0')].join('.'), 'names where the limit was passed');
    const ingest = assertProblem(await send('POST', '/ingest', { body: `{"event":"incident.created","payload":${deep}}` }), 400);
    assert.equal(ingest.errors.length, 1);
    assert.match(ingest.errors[0].message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    assert.ok(ingest.errors[0].path.startsWith('body.payload.a.a.a'), ingest.errors[0].path);
  });

  it('refuses a 1 000-deep payloadSchema on PUT /events/{id} with 400, and takes one within the limit', async () => {
    const schema = (depth: number): Record<string, unknown> => {
      let s: Record<string, unknown> = { type: 'string' };
      for (let i = 0; i < depth; i++) s = { type: 'object', properties: { a: s } };
      return s;
    };
    const event = (depth: number) => JSON.stringify({ displayName: 'Deep', description: 'Deep schema', payloadSchema: schema(depth) });
    const refused = assertProblem(await send('PUT', '/events/acme.deep', { body: event(1_000), token: INGEST_TOKEN }), 400);
    assert.match(refused.errors[0].path, /^body\.payloadSchema\.properties\.a/);
    const ok = await send('PUT', '/events/acme.deep', { body: event(20), token: INGEST_TOKEN });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    // a payload as deep as that schema goes through ingest
    const payload = JSON.parse(nested(20, '"leaf"'));
    const ingested = await hub.call('POST', '/ingest', { event: 'acme.deep', id: 'deep-ok', payload }, INGEST_TOKEN);
    assert.equal(ingested.status, 202, JSON.stringify(ingested.body));
    const stored = await hub.dataSource.query(`SELECT payload FROM emissions WHERE id = 'deep-ok'`);
    assert.deepEqual(stored[0].payload, payload);
  });

  it('refuses numbers JSON cannot keep (1e400, -1e400) with 400 naming the field, instead of storing null', async () => {
    const body = '{"event":"incident.created","id":"big-number","payload":{"incidentId":"i-1","title":"t","severity":"major","count":1e400,"list":[1,-1e400]}}';
    const problem = assertProblem(await send('POST', '/ingest', { body }), 400, ['body.payload.count', 'body.payload.list.1']);
    assert.match(problem.errors[0].message, /number JSON cannot hold/);
    assert.equal((await hub.dataSource.query(`SELECT id FROM emissions WHERE id = 'big-number'`)).length, 0);
    assertProblem(
      await send('POST', '/subscriptions', { body: '{"name":"n","provider":"webhook","event":"incident.created","config":{"url":"https://example.com/h"},"retryPolicy":{"scheduleMs":[1e999]}}' }),
      400,
      ['body.retryPolicy.scheduleMs.0'],
    );
  });

  it('refuses a __proto__ key with 400 naming it, instead of dropping it silently', async () => {
    const body = '{"event":"incident.created","id":"proto-key","payload":{"incidentId":"i-1","title":"t","severity":"major","extra":{"__proto__":{"polluted":true}}}}';
    const problem = assertProblem(await send('POST', '/ingest', { body }), 400, ['body.payload.extra.__proto__']);
    assert.match(problem.errors[0].message, /__proto__/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // other keys that name Object's properties are kept as given
    const kept = await send('POST', '/ingest', { body: body.replace('proto-key', 'proto-ok').replace('"__proto__"', '"constructor"') });
    assert.equal(kept.status, 202, JSON.stringify(kept.body));
    const stored = await hub.dataSource.query(`SELECT payload FROM emissions WHERE id = 'proto-ok'`);
    assert.deepEqual(stored[0].payload.extra, { constructor: { polluted: true } });
  });

  it('refuses NUL and lone surrogates in keys and values anywhere in a request, naming each field', async () => {
    assertProblem(await send('POST', '/tokens', { body: '{"name":"a\\udc00b","role":"viewer"}' }), 400, ['body.name']);
    assertProblem(await send('GET', '/deliveries?event=a%00b'), 400, ['query.event']);
    const keys = assertProblem(
      await send('POST', '/ingest', { body: '{"event":"incident.created","payload":{"incidentId":"i","title":"t","severity":"major","x\\ud800":1,"y\\u0000":2}}' }),
      400,
    );
    assert.deepEqual(keys.errors.map((e) => e.path), ['body.payload.x\ufffd', 'body.payload.y\\u0000']);
  });
});
