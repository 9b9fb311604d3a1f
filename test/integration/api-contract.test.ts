import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor, type JsonResponse } from '../support/hub';
import { OpenApiChecker } from '../support/openapi-check';
import { SseClient } from '../support/sse';

/*
 * The HTTP contract of docs/API.md for bad inputs: every mistake a client can make gets the right 4xx as
 * problem+json naming the wrong field, never a 500 and never a stack trace. Also the OpenAPI document.
 */

const PROBLEM_KEYS = new Set(['type', 'title', 'status', 'detail', 'errors']);

/** Asserts an RFC 9457 problem with `status` whose `errors` name every one of `paths`. */
function assertProblem(res: JsonResponse, status: number, paths: string[] = []): void {
  const shown = JSON.stringify(res.body);
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${shown}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const b = res.body as Record<string, unknown>;
  assert.equal(typeof b.type, 'string');
  assert.equal(typeof b.title, 'string');
  assert.equal(b.status, status);
  assert.equal(typeof b.detail, 'string');
  for (const key of Object.keys(b)) assert.ok(PROBLEM_KEYS.has(key), `unexpected problem member ${key}: ${shown}`);
  if (b.errors !== undefined) {
    assert.ok(Array.isArray(b.errors), shown);
    for (const e of b.errors as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(e).sort(), ['message', 'path'], shown);
      assert.equal(typeof e.path, 'string');
      assert.equal(typeof e.message, 'string');
    }
  }
  const named = ((b.errors ?? []) as { path: string }[]).map((e) => e.path);
  for (const p of paths) assert.ok(named.includes(p), `expected an error at ${p}, got ${JSON.stringify(named)}`);
  assert.doesNotMatch(shown, /\n\s+at |node_modules|\.[jt]s:\d+|Error:/, 'no stack trace or internal error text');
}

/** Every `$ref` in `doc`, as [where, ref]. */
function refsOf(node: unknown, at = '#', out: [string, string][] = []): [string, string][] {
  if (Array.isArray(node)) node.forEach((n, i) => refsOf(n, `${at}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push([at, v]);
      else refsOf(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, seg) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined), doc);
}

describe('API contract: bad inputs get precise problem+json answers', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let logsSeen = 0;

  before(async () => {
    hub = await Hub.start('api_contract');
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.script.length = 0;
    logsSeen = hub.logs.length;
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
    // a 500 is always logged as "unexpected error in request": none may have happened during the test
    const unexpected = hub.logs.slice(logsSeen).filter((l) => l.includes('unexpected error in request'));
    assert.deepEqual(unexpected, [], 'no request ended in an unexpected error');
  });

  const incident = (id?: string, payload: Record<string, unknown> = {}) => ({
    event: 'incident.created',
    ...(id ? { id } : {}),
    payload: { incidentId: 'inc-1', title: 'Checkout down', severity: 'major', systemIds: ['sys-a'], ...payload },
  });

  async function subscribe(body: Record<string, unknown>): Promise<{ id: string; [k: string]: unknown }> {
    const res = await hub.call('POST', '/subscriptions', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  const webhookTo = (path: string, config: Record<string, unknown> = {}) => ({
    name: `to ${path}`,
    provider: 'webhook',
    event: 'incident.created',
    config: { url: `${receiver.url}${path}`, ...config },
  });

  describe('POST /ingest', () => {
    it('answers malformed JSON with 400 naming body', async () => {
      const res = await hub.call('POST', '/ingest', '{"event": "incident.created", "payload": {', INGEST_TOKEN);
      assertProblem(res, 400, ['body']);
    });

    it('answers an event that is not in the catalogue with 404', async () => {
      const res = await hub.call('POST', '/ingest', { event: 'incident.exploded', payload: {} }, INGEST_TOKEN);
      assertProblem(res, 404);
      assert.match(res.body.detail, /incident\.exploded/);
    });

    it('answers payload fields of the wrong type with 400 naming each of them', async () => {
      const res = await hub.call('POST', '/ingest', incident(undefined, { severity: 5, title: 42 }), INGEST_TOKEN);
      assertProblem(res, 400, ['payload.severity', 'payload.title']);
    });

    it('answers a payload missing a required field with 400 naming it', async () => {
      const body = incident();
      delete (body.payload as Record<string, unknown>).title;
      const res = await hub.call('POST', '/ingest', body, INGEST_TOKEN);
      assertProblem(res, 400, ['payload.title']);
      assert.match(res.body.errors.find((e: { path: string }) => e.path === 'payload.title').message, /required/);
    });

    it('answers an unknown top-level field with 400 naming body.evnt', async () => {
      const res = await hub.call('POST', '/ingest', { ...incident(), evnt: 'incident.created' }, INGEST_TOKEN);
      assertProblem(res, 400, ['body.evnt']);
    });

    it('answers a body over the default 256 KiB limit with 413, and accepts one just under it', async () => {
      const big = await hub.call('POST', '/ingest', incident(undefined, { description: 'x'.repeat(300 * 1024) }), INGEST_TOKEN);
      assertProblem(big, 413);
      const under = await hub.call('POST', '/ingest', incident(undefined, { description: 'x'.repeat(200 * 1024) }), INGEST_TOKEN);
      assert.equal(under.status, 202, JSON.stringify(under.body));
    });

    it('honours INGEST_MAX_BODY_BYTES: 413 above 2048 bytes, 202 below', async () => {
      const small = await Hub.start('api_contract_small', { INGEST_MAX_BODY_BYTES: '2048' });
      try {
        const over = await small.call('POST', '/ingest', incident(undefined, { description: 'x'.repeat(3000) }), INGEST_TOKEN);
        assertProblem(over, 413);
        assert.match(over.body.detail, /2048/);
        const fits = await small.call('POST', '/ingest', incident(undefined, { description: 'x'.repeat(1000) }), INGEST_TOKEN);
        assert.equal(fits.status, 202, JSON.stringify(fits.body));
      } finally {
        await small.close();
      }
    });

    it('answers an emission id with characters outside [A-Za-z0-9._:@-] with 400 naming body.id', async () => {
      const res = await hub.call('POST', '/ingest', incident('evt 1/../x'), INGEST_TOKEN);
      assertProblem(res, 400, ['body.id']);
      const header = await hub.call('POST', '/ingest', incident(), INGEST_TOKEN, { 'idempotency-key': 'bad key!' });
      assertProblem(header, 400, ['header.Idempotency-Key']);
    });

    it('answers 409 when an emission id is reused for a different event, and delivers nothing for it', async () => {
      const first = await hub.call('POST', '/ingest', incident('evt-conflict'), INGEST_TOKEN);
      assert.equal(first.status, 202);
      await subscribe({ ...webhookTo('/conflict'), event: 'maintenance.created' });
      const res = await hub.call('POST', '/ingest', {
        event: 'maintenance.created',
        id: 'evt-conflict',
        payload: { maintenanceId: 'm-1', title: 'Failover', startsAt: '2025-03-08T02:00:00Z', endsAt: '2025-03-08T03:00:00Z' },
      }, INGEST_TOKEN);
      assertProblem(res, 409);
      const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE emission_id = 'evt-conflict'`);
      assert.equal(rows[0].n, 0);
    });

    it('uses the Idempotency-Key header as the emission id: a repeat answers 200 with the same body and no new delivery', async () => {
      await subscribe(webhookTo('/idem'));
      const headers = { 'idempotency-key': 'idem-key-1' };
      const first = await hub.call('POST', '/ingest', incident(), INGEST_TOKEN, headers);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.equal(first.body.id, 'idem-key-1');
      assert.equal(first.body.deliveries.length, 1);
      const second = await hub.call('POST', '/ingest', incident(), INGEST_TOKEN, headers);
      assert.equal(second.status, 200);
      assert.deepEqual(second.body, first.body);
      const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE emission_id = 'idem-key-1'`);
      assert.equal(rows[0].n, 1);
      // a body id that disagrees with the header is a client bug, not a second emission
      const differ = await hub.call('POST', '/ingest', incident('other-id'), INGEST_TOKEN, headers);
      assertProblem(differ, 400, ['body.id']);
    });

    it('answers a request without a token with 401 and WWW-Authenticate: Bearer', async () => {
      const res = await hub.call('POST', '/ingest', incident(), null);
      assertProblem(res, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    it('answers an unknown token with 401', async () => {
      const res = await hub.call('POST', '/ingest', incident(), 'not-a-token-anyone-issued-123');
      assertProblem(res, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    });
  });

  describe('POST /subscriptions', () => {
    it('answers a misspelt config field with 400 naming config.urll', async () => {
      const res = await hub.call('POST', '/subscriptions', webhookTo('/x', { urll: 'https://example.com' }));
      assertProblem(res, 400, ['config.urll']);
    });

    it('answers a URL whose literal address the outbound policy refuses with 400 naming the field, on create, preview, PATCH and connections', async () => {
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/hook', 'http://[::ffff:a9fe:a9fe]/x', 'http://0.0.0.0/x']) {
        assertProblem(await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), config: { url } }), 400, ['config.url']);
        assertProblem(await hub.call('POST', '/subscriptions/preview', { ...webhookTo('/x'), config: { url } }), 400, ['config.url']);
      }
      const ok = await hub.call('POST', '/subscriptions', webhookTo('/allowed')); // 127.0.0.1: allowed by this hub's OUTBOUND_ALLOWED_NETWORKS
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assertProblem(await hub.call('PATCH', `/subscriptions/${ok.body.id}`, { config: { url: 'http://192.168.1.1/x' } }), 400, ['config.url']);
      assertProblem(await hub.call('POST', '/connections', { provider: 'telegram', name: 't', config: { botToken: '123456:abcdefghijklmnopqrstuvwxyz', apiBaseUrl: 'http://169.254.169.254' } }), 400, ['config.apiBaseUrl']);
      await hub.call('DELETE', `/subscriptions/${ok.body.id}`);
    });

    it('answers an unknown top-level field with 400 naming it', async () => {
      const res = await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), evnt: 'incident.created' });
      assertProblem(res, 400, ['body.evnt']);
    });

    it('answers an unknown provider with 400 naming provider', async () => {
      const res = await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), provider: 'carrier-pigeon' });
      assertProblem(res, 400, ['provider']);
    });

    it('answers an unknown event with 400 naming event', async () => {
      const res = await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), event: 'incident.exploded' });
      assertProblem(res, 400, ['event']);
    });

    it('answers a bad retryPolicy with 400 naming the wrong field inside it', async () => {
      const exp = await hub.call('POST', '/subscriptions', {
        ...webhookTo('/x'),
        retryPolicy: { maxAttempts: 0, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 60_000 },
      });
      assertProblem(exp, 400, ['body.retryPolicy.maxAttempts']);
      const schedule = await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), retryPolicy: { scheduleMs: [1000, -1] } });
      assertProblem(schedule, 400, ['body.retryPolicy.scheduleMs.1']);
      const neither = await hub.call('POST', '/subscriptions', { ...webhookTo('/x'), retryPolicy: { everyMs: 5 } });
      assertProblem(neither, 400);
      assert.ok(neither.body.errors.every((e: { path: string }) => e.path.startsWith('body.retryPolicy')), JSON.stringify(neither.body));
    });

    it('answers a body template reading a payload field the event schema can never have with 400 naming config.bodyTemplate', async () => {
      // severity is a string in incident.created: it has no "level"
      const res = await hub.call('POST', '/subscriptions', webhookTo('/x', { bodyTemplate: '{"s": "{{payload.severity.level}}"}' }));
      assertProblem(res, 400, ['config.bodyTemplate']);
      assert.match(res.body.errors[0].message, /payload\.severity\.level/);
      // a closed schema: a field it does not list can never be there
      const put = await hub.call('PUT', '/events/acme.order.shipped', {
        displayName: 'Order shipped',
        description: 'An order left the warehouse.',
        payloadSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'], additionalProperties: false },
        example: { orderId: 'o-1' },
      });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      const closed = await hub.call('POST', '/subscriptions', {
        ...webhookTo('/x', { bodyTemplate: '{"o": "{{payload.ordrId}}"}' }),
        event: 'acme.order.shipped',
      });
      assertProblem(closed, 400, ['config.bodyTemplate']);
      assert.match(closed.body.errors[0].message, /orderId/, 'suggests the field that exists');
      // the same template with the real field name is accepted
      await subscribe({ ...webhookTo('/x', { bodyTemplate: '{"o": "{{payload.orderId}}"}' }), event: 'acme.order.shipped' });
    });

    it('masks a bearer token as {set: true}, keeps it through PATCHes that leave it out while the origin stays, refuses to keep it for another origin, and replaces it when a new one is sent', async () => {
      const OLD = 'old-bearer-token-5b1f0c7e';
      const NEW = 'new-bearer-token-9d3a2e41';
      const sub = await subscribe(webhookTo('/secret-1', { auth: { type: 'bearer', token: OLD } }));
      assert.deepEqual((sub.config as { auth: unknown }).auth, { type: 'bearer', token: { set: true } });
      assert.ok(!JSON.stringify(sub).includes(OLD), 'the token is never echoed');
      const got = await hub.call('GET', `/subscriptions/${sub.id}`);
      assert.deepEqual(got.body.config.auth, { type: 'bearer', token: { set: true } });

      async function authorizationSeenAt(path: string): Promise<string | undefined> {
        const t = await hub.call('POST', `/subscriptions/${sub.id}/test`);
        assert.equal(t.status, 202, JSON.stringify(t.body));
        const [req] = await waitFor(async () => (receiver.at(path).length ? receiver.at(path) : undefined), `a request at ${path}`);
        return req.headers.authorization;
      }
      assert.equal(await authorizationSeenAt('/secret-1'), `Bearer ${OLD}`);

      // the token left out of auth: the stored one is kept
      const leftOut = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { url: `${receiver.url}/secret-2`, auth: { type: 'bearer' } } });
      assert.equal(leftOut.status, 200, JSON.stringify(leftOut.body));
      assert.deepEqual(leftOut.body.config.auth, { type: 'bearer', token: { set: true } });
      assert.equal(await authorizationSeenAt('/secret-2'), `Bearer ${OLD}`);

      // the config read back (masked) and sent again with another change: still the stored token
      const readBack = (await hub.call('GET', `/subscriptions/${sub.id}`)).body.config;
      const echoed = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { ...readBack, url: `${receiver.url}/secret-3` } });
      assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
      assert.equal(await authorizationSeenAt('/secret-3'), `Bearer ${OLD}`);

      // a PATCH without config at all keeps it too
      assert.equal((await hub.call('PATCH', `/subscriptions/${sub.id}`, { name: 'renamed' })).status, 200);
      const renamed = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { url: `${receiver.url}/secret-4`, auth: { type: 'bearer' } } });
      assert.equal(renamed.status, 200);
      assert.equal(await authorizationSeenAt('/secret-4'), `Bearer ${OLD}`);

      // another origin: the stored token does not follow the url there (docs/security.md)
      const elsewhere = await new Receiver().start();
      try {
        const moved = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { url: `${elsewhere.url}/moved`, auth: { type: 'bearer' } } });
        assertProblem(moved, 400, ['config.auth.token']);
        assert.match(moved.body.errors.find((e: { path: string }) => e.path === 'config.auth.token').message, /config\.url/);
        const maskedBack = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { ...readBack, url: `${elsewhere.url}/moved` } });
        assertProblem(maskedBack, 400, ['config.auth.token']);
        // refused means unchanged: the subscription still points at the old place, and nothing went elsewhere
        assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.config.url, `${receiver.url}/secret-4`);
        assert.equal(await authorizationSeenAt('/secret-4'), `Bearer ${OLD}`);
        assert.equal(elsewhere.received.length, 0);
        // given again in the same request, the move is accepted
        const THERE = 'bearer-token-for-elsewhere-77';
        const given = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { url: `${elsewhere.url}/moved`, auth: { type: 'bearer', token: THERE } } });
        assert.equal(given.status, 200, JSON.stringify(given.body));
        assert.equal((await hub.call('POST', `/subscriptions/${sub.id}/test`)).status, 202);
        const [req] = await waitFor(async () => (elsewhere.at('/moved').length ? elsewhere.at('/moved') : undefined), 'a request at the new origin');
        assert.equal(req.headers.authorization, `Bearer ${THERE}`);
      } finally {
        await elsewhere.stop();
      }

      // a new token replaces it
      const replaced = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { url: `${receiver.url}/secret-5`, auth: { type: 'bearer', token: NEW } } });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.deepEqual(replaced.body.config.auth, { type: 'bearer', token: { set: true } });
      assert.equal(await authorizationSeenAt('/secret-5'), `Bearer ${NEW}`);
      assert.ok(!JSON.stringify(replaced.body).includes(NEW));
    });

    it('pages subscriptions exactly once each, newest first, even when several were created within one millisecond', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await subscribe(webhookTo(`/page-${i}`))).id);
      // created_at has microseconds; give three of them the same millisecond, as concurrent creates would
      await hub.dataSource.query(
        `UPDATE subscriptions SET created_at = '2030-01-01T00:00:00.000Z'::timestamptz + (interval '100 microseconds' * ord)
         FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord) WHERE subscriptions.id = u.id AND ord <= 3`,
        [ids],
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res: JsonResponse = await hub.call('GET', `/subscriptions?limit=2${q}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        seen.push(...res.body.items.map((s: { id: string }) => s.id));
        cursor = res.body.nextCursor;
        if (!cursor) break;
      }
      const all = (await hub.call('GET', '/subscriptions?limit=500')).body.items.map((s: { id: string }) => s.id);
      assert.deepEqual(seen, all, 'the pages, joined, are the whole list in the same order');
      assert.deepEqual([...seen].sort(), [...ids].sort());
      // the three moved to 2030 are the newest (their order within the millisecond is not specified)
      assert.deepEqual(seen.slice(0, 3).sort(), ids.slice(0, 3).sort());
    });
  });

  describe('GET /deliveries', () => {
    it('answers a cursor it did not make with 400 naming query.cursor', async () => {
      assertProblem(await hub.call('GET', '/deliveries?cursor=not-a-cursor'), 400, ['query.cursor']);
      const wrongShape = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
      assertProblem(await hub.call('GET', `/deliveries?cursor=${wrongShape}`), 400, ['query.cursor']);
    });

    it('answers limit=0, limit=501 and limit=abc with 400 naming query.limit', async () => {
      for (const limit of ['0', '501', 'abc', '2.5']) {
        assertProblem(await hub.call('GET', `/deliveries?limit=${limit}`), 400, ['query.limit']);
      }
      assert.equal((await hub.call('GET', '/deliveries?limit=500')).status, 200);
      assert.equal((await hub.call('GET', '/deliveries?limit=1')).status, 200);
    });

    it('answers an unknown query parameter with 400 naming it', async () => {
      assertProblem(await hub.call('GET', '/deliveries?stauts=failed'), 400, ['query.stauts']);
      assertProblem(await hub.call('GET', '/deliveries?status=lost'), 400, ['query.status']);
    });

    it('walks every delivery exactly once, newest first, across pages of 3', async () => {
      await subscribe({ ...webhookTo('/page-a'), systemIds: ['sys-page'] });
      await subscribe({ ...webhookTo('/page-b'), systemIds: ['sys-page'] });
      // 4 emissions x 2 subscriptions = 8 deliveries; the two of one emission share their createdAt
      const byEmission: string[][] = [];
      for (let i = 0; i < 4; i++) {
        const res = await hub.call('POST', '/ingest', incident(`evt-page-${i}`, { systemIds: ['sys-page'] }), INGEST_TOKEN);
        assert.equal(res.status, 202, JSON.stringify(res.body));
        byEmission.push(res.body.deliveries.map((d: { id: string }) => d.id));
      }
      const created = byEmission.flat();
      assert.equal(created.length, 8);

      const pages: { id: string; emissionId: string; createdAt: string }[][] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res: JsonResponse = await hub.call('GET', `/deliveries?systemId=sys-page&limit=3${q}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        pages.push(res.body.items);
        cursor = res.body.nextCursor;
        assert.ok(pages.length <= 4, 'the walk ends');
      } while (cursor);

      assert.deepEqual(pages.map((p) => p.length), [3, 3, 2]);
      const walked = pages.flat();
      assert.equal(new Set(walked.map((d) => d.id)).size, 8, 'no delivery twice');
      assert.deepEqual(walked.map((d) => d.id).sort(), [...created].sort(), 'every delivery once');
      for (let i = 1; i < walked.length; i++) {
        const [a, b] = [walked[i - 1], walked[i]];
        const newer = Date.parse(a.createdAt) > Date.parse(b.createdAt) || (a.createdAt === b.createdAt && a.id > b.id);
        assert.ok(newer, `item ${i - 1} (${a.createdAt} ${a.id}) comes before item ${i} (${b.createdAt} ${b.id})`);
      }
      assert.deepEqual(
        walked.map((d) => d.emissionId),
        ['evt-page-3', 'evt-page-3', 'evt-page-2', 'evt-page-2', 'evt-page-1', 'evt-page-1', 'evt-page-0', 'evt-page-0'],
        'the latest emission first',
      );
      const whole = await hub.call('GET', '/deliveries?systemId=sys-page&limit=500');
      assert.deepEqual(walked.map((d) => d.id), whole.body.items.map((d: { id: string }) => d.id), 'pages join to the one-page list');
      assert.equal(whole.body.nextCursor, null);
    });
  });

  describe('inputs PostgreSQL cannot take as written (found by npm run fuzz)', () => {
    it('reads a time with an offset beyond ±15:59 as the instant it names, and refuses year 0', async () => {
      const list = await hub.call('GET', `/deliveries?since=${encodeURIComponent('1208-02-13T22:55:53.362-20:21')}`);
      assert.equal(list.status, 200, JSON.stringify(list.body));
      const recover = await hub.call('POST', '/deliveries/recover', { status: 'failed', since: '7513-06-03T10:17:43-22:08' });
      assert.equal(recover.status, 202, JSON.stringify(recover.body));
      assertProblem(await hub.call('GET', `/deliveries?until=${encodeURIComponent('0001-01-01T00:00:00+01:00')}`), 400, ['query.until']);
    });

    it('answers a NUL character anywhere in a request with 400 naming the field', async () => {
      assertProblem(await hub.call('POST', '/tokens', { name: 'a\u0000b', role: 'viewer' }), 400, ['body.name']);
      assertProblem(await hub.call('POST', '/tokens', { name: 'ok', role: 'ingest', owners: ['x', 'y\u0000'] }), 400, ['body.owners.1']);
      assertProblem(await hub.call('GET', '/deliveries?event=a%00b'), 400, ['query.event']);
      assertProblem(await hub.call('POST', '/ingest', { event: 'incident.created', payload: { incidentId: 'i\u0000', title: 't', severity: 'major' } }), 400, ['body.payload.incidentId']);
    });
  });

  describe('PUT /events/{id}', () => {
    const widget = (required: string[], example: Record<string, unknown> = { widgetId: 'w-1', count: 2 }) => ({
      displayName: 'Widget built',
      description: 'A widget came off the line.',
      category: 'Widgets',
      subjectKey: 'widgetId',
      payloadSchema: {
        type: 'object',
        properties: { widgetId: { type: 'string', minLength: 1 }, count: { type: 'integer', minimum: 1 } },
        required,
        additionalProperties: false,
      },
      example,
    });

    it('registers a new event type with 201, updates it with 200, and ingest then validates against the new schema', async () => {
      const created = await hub.call('PUT', '/events/acme.widget.built', widget(['widgetId']), INGEST_TOKEN);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.id, 'acme.widget.built');
      assert.equal(created.body.owner, 'acme');
      const got = await hub.call('GET', '/events/acme.widget.built');
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.payloadSchema, widget(['widgetId']).payloadSchema);

      assert.equal((await hub.call('POST', '/ingest', { event: 'acme.widget.built', payload: { widgetId: 'w-2' } }, INGEST_TOKEN)).status, 202);

      const updated = await hub.call('PUT', '/events/acme.widget.built', widget(['widgetId', 'count']), INGEST_TOKEN);
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      // the same payload is now missing a required field
      assertProblem(await hub.call('POST', '/ingest', { event: 'acme.widget.built', payload: { widgetId: 'w-3' } }, INGEST_TOKEN), 400, ['payload.count']);
      assertProblem(await hub.call('POST', '/ingest', { event: 'acme.widget.built', payload: { widgetId: 'w-3', count: 'two' } }, INGEST_TOKEN), 400, ['payload.count']);
      assertProblem(
        await hub.call('POST', '/ingest', { event: 'acme.widget.built', payload: { widgetId: 'w-3', count: 2, colour: 'red' } }, INGEST_TOKEN),
        400,
        ['payload.colour'],
      );
      assert.equal((await hub.call('POST', '/ingest', { event: 'acme.widget.built', payload: { widgetId: 'w-3', count: 2 } }, INGEST_TOKEN)).status, 202);
    });

    it('takes back what GET returned (id and owner included) for a read-modify-write, and names id or owner when they disagree', async () => {
      assert.equal((await hub.call('PUT', '/events/acme.widget.rmw', widget(['widgetId']), INGEST_TOKEN)).status, 201);
      const got = await hub.call('GET', '/events/acme.widget.rmw');
      assert.equal(got.body.owner, 'acme');
      const modified = { ...got.body, description: 'Read, changed, written back.' };
      const put = await hub.call('PUT', '/events/acme.widget.rmw', modified, INGEST_TOKEN);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual((await hub.call('GET', '/events/acme.widget.rmw')).body, modified);

      assertProblem(await hub.call('PUT', '/events/acme.widget.rmw', { ...modified, id: 'acme.widget.other' }), 400, ['body.id']);
      assertProblem(await hub.call('PUT', '/events/acme.widget.rmw', { ...modified, owner: 'other' }), 400, ['body.owner']);
      assertProblem(await hub.call('PUT', '/events/acme.widget.rmw', { ...modified, id: 'x.y', owner: 'x' }), 400, ['body.id', 'body.owner']);
      assert.equal((await hub.call('GET', '/events/acme.widget.rmw')).body.description, 'Read, changed, written back.', 'nothing changed');
      assert.equal((await hub.call('GET', '/events/x.y')).status, 404);
    });

    it('answers an event id that is not <owner>.<name> with 400', async () => {
      assertProblem(await hub.call('PUT', '/events/Acme_Widget', widget(['widgetId'])), 400, ['id']);
      assertProblem(await hub.call('PUT', '/events/nodot', widget(['widgetId'])), 400, ['id']);
      assert.equal((await hub.call('GET', '/events/nodot')).status, 404);
    });

    it('answers a payloadSchema that is not a valid JSON Schema with 400 naming it', async () => {
      const res = await hub.call('PUT', '/events/acme.widget.broken', { ...widget(['widgetId']), payloadSchema: { type: 'objekt' } });
      assertProblem(res, 400);
      assert.ok(res.body.errors.some((e: { path: string }) => e.path.startsWith('payloadSchema')), JSON.stringify(res.body));
      const ref = await hub.call('PUT', '/events/acme.widget.broken', { ...widget(['widgetId']), payloadSchema: { $ref: '#/$defs/Missing' } });
      assertProblem(ref, 400);
      assert.ok(ref.body.errors.some((e: { path: string }) => e.path.startsWith('payloadSchema')), JSON.stringify(ref.body));
      assert.equal((await hub.call('GET', '/events/acme.widget.broken')).status, 404, 'nothing was stored');
    });

    it('answers an example that does not match the payloadSchema with 400 naming the example field', async () => {
      const res = await hub.call('PUT', '/events/acme.widget.odd', widget(['widgetId'], { widgetId: 5 }));
      assertProblem(res, 400, ['example.widgetId']);
    });

    it('answers an unknown field in the event type with 400 naming it', async () => {
      const res = await hub.call('PUT', '/events/acme.widget.odd', { ...widget(['widgetId']), payloadSchme: {} });
      assertProblem(res, 400, ['body.payloadSchme']);
    });
  });

  describe('GET /openapi.json', () => {
    let doc: Record<string, any>;
    before(async () => {
      const res = await hub.call('GET', '/openapi.json', undefined, null);
      assert.equal(res.status, 200);
      doc = res.body;
    });

    it('is OpenAPI 3.1.0, served without a token', () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.ok(doc.info?.title);
    });

    it('describes every route the API serves, under its path and method, and nothing else', () => {
      const routes = hub.api.routes.list();
      assert.ok(routes.length >= 20, `only ${routes.length} routes`);
      const expected = routes.map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`).sort();
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
        .sort();
      assert.deepEqual(documented, expected);
      for (const r of routes) {
        const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
        const op = doc.paths[path][r.method];
        for (const name of [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1])) {
          assert.ok(op.parameters?.some((p: { in: string; name: string; required: boolean }) => p.in === 'path' && p.name === name && p.required), `${r.method} ${path} declares {${name}}`);
        }
      }
    });

    it('links each create to the operations on what it created (stateful fuzzing follows them), each link resolving', () => {
      const links: { from: string; name: string; ref: string; parameters: Record<string, string> }[] = [];
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
            for (const [name, l] of Object.entries((r.links ?? {}) as Record<string, any>)) links.push({ from: `${method} ${path} ${status}`, name, ref: l.operationRef, parameters: l.parameters });
          }
        }
      }
      const linked = new Set(links.map((l) => l.ref));
      for (const ref of ['#/paths/~1subscriptions~1{id}/get', '#/paths/~1subscriptions~1{id}/patch', '#/paths/~1subscriptions~1{id}/delete',
        '#/paths/~1connections~1{id}/get', '#/paths/~1connections~1{id}/delete', '#/paths/~1deliveries~1{id}/get',
        '#/paths/~1deliveries~1recover~1{id}/get', '#/paths/~1subscriptions~1{id}~1replay~1{replayId}/get', '#/paths/~1tokens~1{id}/delete']) {
        assert.ok(linked.has(ref), `a link to ${ref}`);
      }
      for (const l of links) {
        const m = /^#\/paths\/([^/]+)\/(get|post|put|patch|delete)$/.exec(l.ref);
        assert.ok(m, `${l.from} ${l.name}: ${l.ref}`);
        const target = doc.paths[m[1].replace(/~1/g, '/').replace(/~0/g, '~')]?.[m[2]];
        assert.ok(target, `${l.from} ${l.name}: ${l.ref} resolves`);
        const pathParams = (target.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name).sort();
        assert.deepEqual(Object.keys(l.parameters).sort(), pathParams, `${l.from} ${l.name} fills every path parameter of ${l.ref}`);
        for (const v of Object.values(l.parameters)) assert.match(v, /^\$(response\.body#\/|request\.path\.)/);
      }
    });

    it('documents each event of GET /deliveries/stream as a parser gives it (schemathesis found `ready` undocumented)', async () => {
      const checker = new OpenApiChecker(doc);
      const sse = await SseClient.open(`${hub.baseUrl}/api/v1/deliveries/stream`, { authorization: `Bearer ${ADMIN_TOKEN}` });
      try {
        const ready = await sse.next((e) => e.event === 'ready', 'the ready event');
        const answer = (body: unknown) => ({ method: 'get', path: '/deliveries/stream', status: 200, contentType: 'text/event-stream', body });
        assert.deepEqual(checker.problems(answer({ event: ready.event, data: JSON.stringify(ready.data) })), []);
        assert.notDeepEqual(checker.problems(answer({ event: 'surprise', data: '{}' })), [], 'an undocumented event disagrees');
      } finally {
        sse.close();
      }
    });

    it('rejects unknown fields in the POST /subscriptions schema (additionalProperties: false)', () => {
      const schema = doc.paths['/subscriptions'].post.requestBody.content['application/json'].schema;
      assert.equal(schema.additionalProperties, false);
      for (const field of ['name', 'provider', 'config', 'event']) assert.ok(schema.properties[field], field);
      assert.deepEqual([...schema.required].sort(), ['config', 'event', 'name', 'provider']);
    });

    it('has no $ref that points nowhere', () => {
      const broken = refsOf(doc).filter(([, ref]) => resolvePointer(doc, ref) === undefined);
      assert.deepEqual(broken, []);
    });

    it('marks the webhook config secrets x-secret and writeOnly in GET /providers', async () => {
      const res = await hub.call('GET', '/providers');
      assert.equal(res.status, 200);
      const webhook = res.body.items.find((p: { id: string }) => p.id === 'webhook');
      assert.ok(webhook, 'the webhook provider is listed');
      const auth = webhook.configSchema.properties.auth;
      const branches: Record<string, any>[] = auth.anyOf ?? auth.oneOf;
      const bearer = branches.find((b) => b.properties?.type?.const === 'bearer');
      assert.equal(bearer?.properties.token['x-secret'], true);
      assert.equal(bearer?.properties.token.writeOnly, true);
      const signing = webhook.configSchema.properties.signing.properties.secrets.items;
      assert.equal(signing['x-secret'], true);
      assert.equal(webhook.configSchema.properties.url['x-secret'], undefined, 'a plain field is not secret');
    });
  });
});
