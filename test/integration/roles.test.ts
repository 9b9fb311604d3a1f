import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ADMIN_TOKEN, Hub, type JsonResponse } from '../support/hub';

type Role = 'admin' | 'manager' | 'viewer' | 'ingest';
const ROLES: Role[] = ['admin', 'manager', 'viewer', 'ingest'];

/**
 * docs/API.md "Roles", written out here so that the test can disagree with the routes' own declarations:
 * | admin   | everything, including tokens and provider plugins |
 * | manager | connections, subscriptions, test sends, redeliver/cancel/recover, read everything (but tokens) |
 * | viewer  | read catalogue, providers, subscriptions (secrets masked), deliveries (and the undelivered list), targets (health and rate limits), stats over time and the systems seen |
 * | ingest  | POST /ingest only; PUT /events/{id} for its own owner |
 * The OpenAPI document is public.
 */
function allowedByApiMd(method: string, path: string): Role[] | 'public' {
  const m = method.toUpperCase();
  if (m === 'GET' && path === '/openapi.json') return 'public';
  // the admin UI signs in with any admin, manager or viewer token; the session then has that token's role
  if (path === '/session') return m === 'DELETE' ? ['admin', 'manager', 'viewer'] : 'public';
  const area = path.split('/')[1];
  const allowed: Role[] = ['admin'];
  const read = m === 'GET';
  if ((read && area !== 'tokens') || ['connections', 'subscriptions', 'deliveries'].includes(area)) allowed.push('manager');
  if (read && ['events', 'providers', 'subscriptions', 'deliveries', 'undelivered', 'targets', 'stats', 'systems'].includes(area)) allowed.push('viewer');
  if ((m === 'POST' && path === '/ingest') || (m === 'PUT' && path === '/events/:id')) allowed.push('ingest');
  return allowed;
}

/** A request path for a route: `:id` and other parameters become ids that exist nowhere. */
const concrete = (path: string) => path.replace(/:([A-Za-z_]+)/g, (_, name: string) => (name === 'id' ? 'does-not-exist' : `no-such-${name}`));

const hasBody = (method: string) => ['post', 'put', 'patch'].includes(method);

function assertProblemStatus(res: JsonResponse, status: number, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(res.body.status, status, what);
}

describe('roles: every route answers each role as docs/API.md says', function () {
  this.timeout(120_000);
  let hub: Hub;
  const tokens = {} as Record<Role, { id: string; token: string }>;

  before(async () => {
    hub = await Hub.start('roles');
    for (const role of ROLES) {
      const res = await hub.call('POST', '/tokens', { name: `${role} for the role walk`, role });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body).sort(), ['id', 'token']);
      tokens[role] = res.body;
    }
  });
  after(async () => {
    await hub?.close();
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  /** Calls one route as `token` (null = no token); a body of `{}` where the method takes one. */
  const callRoute = (r: { method: string; path: string }, token: string | null) =>
    r.path.endsWith('/stream') ? openStream(r.path, token) : hub.call(r.method.toUpperCase(), concrete(r.path), hasBody(r.method) ? {} : undefined, token);

  /** A streaming route answers with its status and then streams for ever: read the status, then hang up. */
  async function openStream(path: string, token: string | null): Promise<JsonResponse> {
    const abort = new AbortController();
    const res = await fetch(`${hub.baseUrl}/api/v1${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: abort.signal });
    const body = res.ok ? undefined : await res.json();
    abort.abort();
    return { status: res.status, headers: res.headers, body };
  }

  it('walks a route list that covers the whole API', () => {
    const routes = hub.api.routes.list().map((r) => `${r.method.toUpperCase()} ${r.path}`);
    for (const must of ['POST /ingest', 'PUT /events/:id', 'GET /providers', 'POST /subscriptions', 'GET /deliveries', 'POST /deliveries/:id/retry', 'POST /tokens', 'DELETE /tokens/:id', 'GET /openapi.json']) {
      assert.ok(routes.includes(must), `${must} is in the route list`);
    }
  });

  it('answers 401 with WWW-Authenticate to a request without a token on every route but the public ones', async () => {
    const wrong: string[] = [];
    for (const r of hub.api.routes.list()) {
      const res = await callRoute(r, null);
      const what = `${r.method.toUpperCase()} ${r.path}`;
      if (allowedByApiMd(r.method, r.path) === 'public') {
        if (res.status === 401 || res.status === 403) wrong.push(`${what}: public, but ${res.status}`);
      } else if (res.status !== 401 || !/^Bearer/.test(res.headers.get('www-authenticate') ?? '')) {
        wrong.push(`${what}: ${res.status} www-authenticate=${res.headers.get('www-authenticate')}`);
      } else {
        assertProblemStatus(res, 401, what);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('answers 401 to an unknown token on every route but the public ones', async () => {
    const unknown = `ih_adm_${crypto.randomBytes(24).toString('base64url')}`;
    const wrong: string[] = [];
    for (const r of hub.api.routes.list()) {
      if (allowedByApiMd(r.method, r.path) === 'public') continue;
      const res = await callRoute(r, unknown);
      if (res.status !== 401) wrong.push(`${r.method.toUpperCase()} ${r.path}: ${res.status}`);
      else assertProblemStatus(res, 401, r.path);
    }
    assert.deepEqual(wrong, []);
  });

  it('answers 403 exactly where the role is not allowed, and lets allowed roles past auth', async () => {
    const wrong: string[] = [];
    const tally: Record<Role, { allowed: number; denied: number }> = {
      admin: { allowed: 0, denied: 0 },
      manager: { allowed: 0, denied: 0 },
      viewer: { allowed: 0, denied: 0 },
      ingest: { allowed: 0, denied: 0 },
    };
    for (const r of hub.api.routes.list()) {
      const expected = allowedByApiMd(r.method, r.path);
      for (const role of ROLES) {
        const res = await callRoute(r, tokens[role].token);
        const what = `${role} ${r.method.toUpperCase()} ${r.path}`;
        const allowed = expected === 'public' || expected.includes(role);
        tally[role][allowed ? 'allowed' : 'denied']++;
        if (allowed && (res.status === 401 || res.status === 403)) wrong.push(`${what}: allowed by docs/API.md, got ${res.status}`);
        if (!allowed) {
          // 403 before anything else: the empty body must not be judged (400) for a caller who may not call
          if (res.status !== 403) wrong.push(`${what}: not allowed by docs/API.md, got ${res.status}`);
          else assertProblemStatus(res, 403, what);
        }
        if (res.status >= 500) wrong.push(`${what}: ${res.status}`);
      }
    }
    assert.deepEqual(wrong, []);
    // the walk is not vacuous: every role met routes it may and may not call (admin may call all)
    for (const role of ['manager', 'viewer', 'ingest'] as const) {
      assert.ok(tally[role].allowed > 0 && tally[role].denied > 0, `${role}: ${JSON.stringify(tally[role])}`);
    }
    assert.equal(tally.admin.denied, 0);
  });

  it('forbids an ingest token limited to owner maintenance from posting incident.created', async () => {
    const created = await hub.call('POST', '/tokens', { name: 'maintenance only', role: 'ingest', owners: ['maintenance'] });
    assert.equal(created.status, 201);
    const token = created.body.token as string;
    const incident = await hub.call('POST', '/ingest', {
      event: 'incident.created',
      payload: { incidentId: 'inc-1', title: 'Down', severity: 'major' },
    }, token);
    assertProblemStatus(incident, 403, 'incident.created with a maintenance token');
    const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM emissions WHERE event = 'incident.created'`);
    assert.equal(rows[0].n, 0, 'nothing was stored');
    const maintenance = await hub.call('POST', '/ingest', {
      event: 'maintenance.created',
      payload: { maintenanceId: 'm-1', title: 'Failover', startsAt: '2025-03-08T02:00:00Z', endsAt: '2025-03-08T03:00:00Z' },
    }, token);
    assert.equal(maintenance.status, 202, JSON.stringify(maintenance.body));
    // and it may register event types of its own owner only
    const eventType = { displayName: 'Window extended', description: 'A maintenance window was extended.' };
    assertProblemStatus(await hub.call('PUT', '/events/incident.escalated', eventType, token), 403, 'PUT an incident event');
    assert.equal((await hub.call('PUT', '/events/maintenance.extended', eventType, token)).status, 201);
  });

  it('never shows a token value or hash in GET /tokens', async () => {
    const res = await hub.call('GET', '/tokens');
    assert.equal(res.status, 200);
    const text = JSON.stringify(res.body);
    for (const role of ROLES) {
      const { id, token } = tokens[role];
      assert.ok(res.body.items.some((t: { id: string; role: string }) => t.id === id && t.role === role), `${role} token is listed`);
      assert.ok(!text.includes(token), `${role} token value`);
      assert.ok(!text.includes(crypto.createHash('sha256').update(token).digest('hex')), `${role} token hash`);
    }
    for (const item of res.body.items as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(item).sort(), ['createdAt', 'id', 'name', 'owners', 'role']);
    }
    assert.ok(!text.includes(ADMIN_TOKEN));
  });

  it('revokes a token on DELETE /tokens/{id}: it gets 401 from then on', async () => {
    const created = await hub.call('POST', '/tokens', { name: 'short-lived', role: 'viewer' });
    const { id, token } = created.body as { id: string; token: string };
    assert.equal((await hub.call('GET', '/subscriptions', undefined, token)).status, 200);
    assert.equal((await hub.call('DELETE', `/tokens/${id}`)).status, 204);
    assertProblemStatus(await hub.call('GET', '/subscriptions', undefined, token), 401, 'revoked token');
    assert.ok(!(await hub.call('GET', '/tokens')).body.items.some((t: { id: string }) => t.id === id), 'no longer listed');
    assertProblemStatus(await hub.call('DELETE', `/tokens/${id}`), 404, 'second revoke');
  });

  it('lets only admin create tokens, so no lesser role can mint itself an admin token', async () => {
    for (const role of ['manager', 'viewer', 'ingest'] as const) {
      const res = await hub.call('POST', '/tokens', { name: 'escalate', role: 'admin' }, tokens[role].token);
      assertProblemStatus(res, 403, role);
    }
    const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM api_tokens WHERE name = 'escalate'`);
    assert.equal(rows[0].n, 0);
  });
});
