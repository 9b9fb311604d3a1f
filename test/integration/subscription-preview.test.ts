import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub } from '../support/hub';

describe('subscription preview: what would be sent for the example, sent nowhere', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  const TOKEN = 'preview-bearer-token-5f1c9a';

  before(async () => {
    receiver = await new Receiver().start();
    hub = await Hub.start('subscription_preview');
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  const webhook = (config: Record<string, unknown> = {}) => ({
    name: 'preview me', provider: 'webhook', event: 'incident.created',
    config: { url: `${receiver.url}/p`, auth: { type: 'bearer', token: TOKEN }, bodyTemplate: '{"text":"{{payload.title}} ({{payload.severity}})"}', ...config },
  });

  it("renders the provider's request for the event's example, with secrets replaced, and sends nothing", async () => {
    const example = (await hub.call('GET', '/events/incident.created')).body.example;
    const res = await hub.call('POST', '/subscriptions/preview', webhook());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, `${receiver.url}/p`);
    assert.equal(req.body, `{"text":"${example.title} (${example.severity})"}`);
    assert.equal(req.headers.authorization ?? req.headers.Authorization, '[redacted]');
    assert.ok(!JSON.stringify(res.body).includes(TOKEN));
    assert.equal(receiver.received.length, 0, 'nothing went over the wire');
    assert.equal((await hub.dataSource.query(`SELECT count(*)::int AS n FROM subscriptions`))[0].n, 0, 'nothing saved');
  });

  it('answers a wrong config with the same field problems as create', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', webhook({ url: 'ftp://x' }));
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['config.url']);
    const unknown = await hub.call('POST', '/subscriptions/preview', { ...webhook(), extra: 1 });
    assert.equal(unknown.status, 400);
  });

  it('takes the stored secrets of the subscription being edited', async () => {
    const created = await hub.call('POST', '/subscriptions', webhook());
    assert.equal(created.status, 201);
    const masked = created.body.config;
    assert.deepEqual(masked.auth.token, { set: true });
    const res = await hub.call('POST', '/subscriptions/preview', { ...webhook({ auth: masked.auth }), subscriptionId: created.body.id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.requests[0].headers.authorization ?? res.body.requests[0].headers.Authorization, '[redacted]');
    const without = await hub.call('POST', '/subscriptions/preview', webhook({ auth: masked.auth }));
    assert.equal(without.status, 400, 'a mask without the stored subscription is no token');
  });

  it('refuses a provider whose code runs only on the workers (script) with 422 naming provider', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', {
      name: 'js', provider: 'script', event: 'incident.created', config: { source: 'async function deliver(event) {\n  return { ok: true };\n}' },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['provider']);
  });

  describe("a stored secret in a preview (issue 19: a manager read an admin's Discord token)", () => {
    const WEBHOOK_ID = '123456789012345678';
    const DISCORD_TOKEN = 'discordToken-Xy7_bQ2mLk9sVt4RpZ8nWc3HfJ6aGd1e';
    let manager: string;
    before(async () => {
      manager = (await hub.call('POST', '/tokens', { name: 'preview manager', role: 'manager' })).body.token;
    });

    async function adminDiscord(config: Record<string, unknown> = {}): Promise<string> {
      const res = await hub.call('POST', '/subscriptions', {
        name: 'ops channel', provider: 'discord', event: 'incident.created',
        config: { webhookUrl: `https://discord.com/api/webhooks/${WEBHOOK_ID}/${DISCORD_TOKEN}`, ...config },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id;
    }
    const preview = (subscriptionId: string, config: Record<string, unknown>) =>
      hub.call('POST', '/subscriptions/preview', { name: 'ops channel', provider: 'discord', event: 'incident.created', subscriptionId, config: { webhookUrl: { set: true }, ...config } }, manager);

    it('refuses a kept secret sent to a new apiBaseUrl exactly as PATCH does: 400 naming config.webhookUrl', async () => {
      const id = await adminDiscord();
      const res = await preview(id, { apiBaseUrl: 'https://attacker.example/api' });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['config.webhookUrl']);
      assert.ok(!JSON.stringify(res.body).includes(DISCORD_TOKEN));
      const patch = await hub.call('PATCH', `/subscriptions/${id}`, { config: { webhookUrl: { set: true }, apiBaseUrl: 'https://attacker.example/api' } }, manager);
      assert.deepEqual([patch.status, patch.body.errors.map((e: { path: string }) => e.path)], [res.status, ['config.webhookUrl']], 'the same answer as PATCH');
      // given again, the secret is the caller's own: the preview may go anywhere (and still masks it)
      const given = await hub.call('POST', '/subscriptions/preview', {
        name: 'own', provider: 'discord', event: 'incident.created', subscriptionId: id,
        config: { webhookUrl: `https://discord.com/api/webhooks/${WEBHOOK_ID}/${DISCORD_TOKEN}`, apiBaseUrl: 'https://attacker.example/api' },
      }, manager);
      assert.equal(given.status, 200, JSON.stringify(given.body));
      assert.ok(!JSON.stringify(given.body).includes(DISCORD_TOKEN), JSON.stringify(given.body));
    });

    it('never shows the stored token, also where the URL no longer looks like a Discord one (same origin, new path)', async () => {
      const id = await adminDiscord({ apiBaseUrl: 'https://proxy.example/discord' });
      const res = await preview(id, { apiBaseUrl: 'https://proxy.example/elsewhere', username: 'Ops' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [req] = res.body.requests;
      assert.match(req.url, /^https:\/\/proxy\.example\/elsewhere\/webhooks\/\*\*\*\/\*\*\*/);
      assert.ok(!JSON.stringify(res.body).includes(DISCORD_TOKEN), JSON.stringify(res.body));
    });
  });
});
