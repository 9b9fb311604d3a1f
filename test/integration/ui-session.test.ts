import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UI_CSP } from '../../src/http/ui';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN } from '../support/hub';
import { callWithSession, signIn } from '../support/session';
import { PROJECT_ROOT } from '../support/stack';

const webhook = (name: string) => ({ name, provider: 'webhook', event: 'incident.created', config: { url: 'http://127.0.0.1:9/hook' } });

describe('admin UI sessions: cookie sign-in, CSRF, sign-out, CSP', function () {
  this.timeout(120_000);
  let hub: Hub;
  let viewerToken: { id: string; token: string };

  before(async () => {
    hub = await Hub.start('ui_session');
    viewerToken = (await hub.call('POST', '/tokens', { name: 'viewer', role: 'viewer' })).body;
  });
  after(async () => {
    await hub?.close();
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  it('signs in with an API token: an HttpOnly SameSite=Strict cookie, stored only as a hash', async () => {
    const s = await signIn(hub, ADMIN_TOKEN);
    assert.equal(s.role, 'admin');
    assert.match(s.setCookie, /^ih_session=[A-Za-z0-9_-]{40,};/);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.ok(s.setCookie.includes(attr), `${attr} in ${s.setCookie}`);
    assert.ok(!/Secure/.test(s.setCookie), 'no Secure over plain http');
    const secret = s.cookie.split('=')[1];
    const rows: { id: string; token_hash: string }[] = await hub.dataSource.query(`SELECT id, token_hash FROM ui_sessions`);
    assert.ok(rows.some((r) => r.id === crypto.createHash('sha256').update(secret).digest('hex')), 'the session is stored by hash');
    assert.ok(!JSON.stringify(rows).includes(secret) && !JSON.stringify(rows).includes(ADMIN_TOKEN), 'neither cookie nor token in clear');
    const me = await callWithSession(hub, s, 'GET', '/session', undefined, null);
    assert.equal(me.status, 200);
    assert.deepEqual({ signedIn: me.body.signedIn, role: me.body.role, csrf: me.body.csrfToken }, { signedIn: true, role: 'admin', csrf: s.csrfToken });
    // without a cookie (or with a bearer token only) nobody is signed in to the UI, and that is not an error
    assert.deepEqual((await hub.call('GET', '/session', undefined, null)).body, { signedIn: false });
    assert.deepEqual((await hub.call('GET', '/session')).body, { signedIn: false });
  });

  it('marks the cookie Secure when the request came over https (behind a TLS proxy)', async () => {
    const s = await signIn(hub, ADMIN_TOKEN, { 'x-forwarded-proto': 'https' });
    assert.match(s.setCookie, /; Secure$/);
  });

  it('refuses unknown and ingest tokens, naming the token field', async () => {
    const unknown = await hub.call('POST', '/session', { token: 'ih_adm_nope' }, null);
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body.errors.map((e: { path: string }) => e.path), ['body.token']);
    const ingest = await hub.call('POST', '/session', { token: INGEST_TOKEN }, null);
    assert.equal(ingest.status, 403);
    assert.equal((await hub.call('POST', '/session', { token: '' }, null)).status, 400);
  });

  it('needs the CSRF token on writes made with the cookie, not on reads; bearer clients are unchanged', async () => {
    const s = await signIn(hub, ADMIN_TOKEN);
    assert.equal((await callWithSession(hub, s, 'GET', '/subscriptions', undefined, null)).status, 200);
    const none = await callWithSession(hub, s, 'POST', '/subscriptions', webhook('no csrf'), null);
    assert.equal(none.status, 403);
    assert.match(none.body.detail, /X-CSRF-Token/);
    const wrong = await callWithSession(hub, s, 'POST', '/subscriptions', webhook('wrong csrf'), `${s.csrfToken.slice(0, -2)}xx`);
    assert.equal(wrong.status, 403);
    // a CSRF token of another session does not fit this one
    const other = await signIn(hub, ADMIN_TOKEN);
    assert.equal((await callWithSession(hub, s, 'POST', '/subscriptions', webhook('other csrf'), other.csrfToken)).status, 403);
    const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM subscriptions`);
    assert.equal(rows[0].n, 0, 'no refused write went through');
    const ok = await callWithSession(hub, s, 'POST', '/subscriptions', webhook('with csrf'));
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal((await hub.call('POST', '/subscriptions', webhook('bearer'))).status, 201, 'bearer needs no CSRF token');
  });

  it("keeps the viewer's role with a session: reads yes, a forged write with the right CSRF token 403", async () => {
    const s = await signIn(hub, viewerToken.token);
    assert.equal((await callWithSession(hub, s, 'GET', '/deliveries')).status, 200);
    const forged = await callWithSession(hub, s, 'POST', '/subscriptions', webhook('viewer write'));
    assert.equal(forged.status, 403);
    assert.match(forged.body.detail, /viewer/);
  });

  it('signs out: the cookie is cleared and the session refused from then on', async () => {
    const s = await signIn(hub, ADMIN_TOKEN);
    const out = await fetch(`${hub.baseUrl}/api/v1/session`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^ih_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
    const after = await callWithSession(hub, s, 'GET', '/subscriptions');
    assert.equal(after.status, 401);
    assert.deepEqual((await callWithSession(hub, s, 'GET', '/session')).body, { signedIn: false });
  });

  it('ends the sessions of a revoked token, and expired sessions', async () => {
    const t = (await hub.call('POST', '/tokens', { name: 'manager', role: 'manager' })).body;
    const s = await signIn(hub, t.token);
    assert.equal((await callWithSession(hub, s, 'GET', '/subscriptions')).status, 200);
    assert.equal((await hub.call('DELETE', `/tokens/${t.id}`)).status, 204);
    assert.equal((await callWithSession(hub, s, 'GET', '/subscriptions')).status, 401);

    const e = await signIn(hub, ADMIN_TOKEN);
    const id = crypto.createHash('sha256').update(e.cookie.split('=')[1]).digest('hex');
    await hub.dataSource.query(`UPDATE ui_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    assert.equal((await callWithSession(hub, e, 'GET', '/subscriptions')).status, 401);
  });

  it('serves the UI at /ui with a strict Content-Security-Policy and falls back to index.html', async () => {
    for (const p of ['/ui/', '/ui/deliveries?status=failed', '/ui/subscriptions/sub_x']) {
      const res = await fetch(`${hub.baseUrl}${p}`);
      assert.equal(res.status, 200, p);
      assert.equal(res.headers.get('content-security-policy'), UI_CSP, p);
      assert.doesNotMatch(UI_CSP, /unsafe-inline|unsafe-eval/);
      const html = await res.text();
      assert.match(html, /<script type="module" crossorigin src="\/ui\/assets\/[^"]+\.js"><\/script>/, p);
      assert.doesNotMatch(html.replace(/<script[^>]*src=[^>]*><\/script>/g, ''), /<script/, `${p}: no inline script`);
    }
    const root = await fetch(`${hub.baseUrl}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/ui/');
    const missing = await fetch(`${hub.baseUrl}/ui/assets/nope.js`);
    assert.equal(missing.status, 404, 'a missing asset is a 404, not index.html');
  });

  it('describes sessions and the live stream in the served OpenAPI document, identical to the build-time one', async () => {
    const served = (await hub.call('GET', '/openapi.json', undefined, null)).body;
    assert.ok(served.paths['/session'].post && served.paths['/session'].get && served.paths['/session'].delete);
    assert.ok(served.paths['/deliveries/stream'].get.responses['200'].content['text/event-stream']);
    assert.ok(served.components.securitySchemes.session);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/main/openapi.js'), out], { env: { PATH: process.env.PATH } });
    assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), served);
  });
});
