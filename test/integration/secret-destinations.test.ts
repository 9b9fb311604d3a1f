import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { JiraFake } from '../fakes/jira';
import { TelegramFake } from '../fakes/telegram';
import { Hub, waitFor, type JsonResponse } from '../support/hub';

/*
 * A stored secret follows a changed destination only when it is given again (docs/security.md,
 * docs/API.md "PATCH and secrets"). The attack this closes: a manager, who may edit configs but never read
 * a secret, points an admin's bot token or bearer token at a host of their own and triggers it with /test.
 */

const BOT_TOKEN = `6123456789:AAF${'q'.repeat(12)}_dS-${'k'.repeat(16)}`;

function assertNames(res: JsonResponse, paths: string[]): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const named = (res.body.errors ?? []).map((e: { path: string }) => e.path).sort();
  assert.deepEqual(named, [...paths].sort(), JSON.stringify(res.body));
}

describe('secrets bound to a destination: a PATCH to another origin must give them again', function () {
  this.timeout(120_000);
  let hub: Hub;
  let telegram: TelegramFake;
  let jira: JiraFake;
  let attacker: Receiver;
  let receiver: Receiver;
  let manager: string;

  before(async () => {
    telegram = await new TelegramFake(BOT_TOKEN).start();
    jira = await new JiraFake().start();
    attacker = await new Receiver().start();
    receiver = await new Receiver().start();
    hub = await Hub.start('secret_destinations');
    const m = await hub.call('POST', '/tokens', { name: 'a manager', role: 'manager' });
    assert.equal(m.status, 201, JSON.stringify(m.body));
    manager = m.body.token;
  });
  after(async () => {
    await hub?.close();
    await Promise.all([telegram?.stop(), jira?.stop(), attacker?.stop(), receiver?.stop()]);
  });
  beforeEach(() => {
    attacker.received.length = 0;
    receiver.received.length = 0;
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
    await hub.dataSource.query('DELETE FROM connections');
  });

  it("refuses a manager's move of an admin's Telegram bot to another host, so /test sends the token nowhere new", async () => {
    const con = await hub.call('POST', '/connections', { provider: 'telegram', name: 'Ops bot', config: { botToken: BOT_TOKEN, apiBaseUrl: telegram.url } });
    assert.equal(con.status, 201, JSON.stringify(con.body));
    const id = con.body.id;

    // the attack: only the base URL changes, the token is left out (or echoed back masked)
    assertNames(await hub.call('PATCH', `/connections/${id}`, { config: { apiBaseUrl: attacker.url } }, manager), ['config.botToken']);
    assertNames(await hub.call('PATCH', `/connections/${id}`, { config: { ...con.body.config, apiBaseUrl: attacker.url } }, manager), ['config.botToken']);
    // a default base URL is a destination too: leaving apiBaseUrl out moves the bot to api.telegram.org
    assertNames(await hub.call('PATCH', `/connections/${id}`, { config: {} }, manager), ['config.botToken']);

    // the connection is unchanged and its test still talks to the real (fake) Bot API, never to the attacker
    assert.equal((await hub.call('GET', `/connections/${id}`)).body.config.apiBaseUrl, telegram.url);
    const calls = telegram.calls.length;
    const tested = await hub.call('POST', `/connections/${id}/test`, undefined, manager);
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assert.equal(tested.body.ok, true, JSON.stringify(tested.body));
    assert.ok(telegram.calls.length > calls, 'the test reached the Bot API it was configured with');
    assert.equal(attacker.received.length, 0, 'nothing reached the other host');

    // a path change on the same origin keeps the token (a local Bot API server behind a prefix, say)
    const samePlace = await hub.call('PATCH', `/connections/${id}`, { config: { apiBaseUrl: `${telegram.url}/` } }, manager);
    assert.equal(samePlace.status, 200, JSON.stringify(samePlace.body));
    // and whoever knows the token may move it: given again, the move is accepted
    const given = await hub.call('PATCH', `/connections/${id}`, { config: { apiBaseUrl: attacker.url, botToken: BOT_TOKEN } }, manager);
    assert.equal(given.status, 200, JSON.stringify(given.body));
    assert.deepEqual(given.body.config.botToken, { set: true });
  });

  it("refuses a manager's move of an admin's webhook to another origin for each kind of stored credential", async () => {
    const auths = [
      { auth: { type: 'bearer', token: 'admin-bearer-token-31f' }, withoutSecret: { type: 'bearer' }, field: 'config.auth.token' },
      { auth: { type: 'basic', username: 'hub', password: 'admin-basic-pw-9a' }, withoutSecret: { type: 'basic', username: 'hub' }, field: 'config.auth.password' },
      { auth: { type: 'header', name: 'x-api-key', value: 'admin-header-4c' }, withoutSecret: { type: 'header', name: 'x-api-key' }, field: 'config.auth.value' },
    ];
    for (const { auth, withoutSecret, field } of auths) {
      const sub = await hub.call('POST', '/subscriptions', {
        name: `webhook ${auth.type}`,
        provider: 'webhook',
        event: 'incident.created',
        config: { url: `${receiver.url}/hook`, auth },
      });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      const moved = await hub.call('PATCH', `/subscriptions/${sub.body.id}`, { config: { url: `${attacker.url}/steal`, auth: withoutSecret } }, manager);
      assertNames(moved, [field]);
      // a templated host counts as another origin as well
      const templated = await hub.call('PATCH', `/subscriptions/${sub.body.id}`, { config: { url: 'http://{{payload.host}}/steal', auth: withoutSecret } }, manager);
      assertNames(templated, [field]);
      const test = await hub.call('POST', `/subscriptions/${sub.body.id}/test`, undefined, manager);
      assert.equal(test.status, 202);
      await waitFor(async () => receiver.received.length > 0, 'the test send at the original receiver');
      assert.equal(attacker.received.length, 0, `${auth.type}: nothing reached the other host`);
      receiver.received.length = 0;
    }
  });

  it('refuses to move a Jira connection to another site without its API token, and keeps it for the same site', async () => {
    const con = await hub.call('POST', '/connections', {
      provider: 'jira',
      name: 'Jira',
      config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
    });
    assert.equal(con.status, 201, JSON.stringify(con.body));
    const moved = await hub.call('PATCH', `/connections/${con.body.id}`, { config: { flavor: 'cloud', baseUrl: attacker.url, email: jira.email } }, manager);
    assertNames(moved, ['config.apiToken']);
    const contextPath = await hub.call('PATCH', `/connections/${con.body.id}`, { config: { flavor: 'cloud', baseUrl: `${jira.url}/jira`, email: jira.email } }, manager);
    assert.equal(contextPath.status, 200, JSON.stringify(contextPath.body));
    const back = await hub.call('PATCH', `/connections/${con.body.id}`, { config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email } }, manager);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const tested = await hub.call('POST', `/connections/${con.body.id}/test`, undefined, manager);
    assert.equal(tested.body.ok, true, 'the kept token still works at its site');
    assert.equal(attacker.received.length, 0);
  });

  it('publishes which secrets are bound to which fields (x-bound-to) in GET /providers', async () => {
    const providers = (await hub.call('GET', '/providers', undefined, manager)).body.items as { id: string; configSchema: unknown; connectionSchema?: unknown }[];
    const telegramSchema = JSON.stringify(providers.find((p) => p.id === 'telegram')!.connectionSchema);
    assert.match(telegramSchema, /"botToken":\{[^}]*"x-bound-to":\["apiBaseUrl"\]/);
    assert.match(JSON.stringify(providers.find((p) => p.id === 'webhook')!.configSchema), /"x-bound-to":\["url"\]/);
  });
});
