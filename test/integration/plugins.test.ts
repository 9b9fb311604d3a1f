import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, waitFor } from '../support/hub';

const HOOK_TOKEN = 'discord-hook-token-5b8e1f0c2a';

describe('provider plugins and the provider switch', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('plugins', {
      PROVIDER_PLUGINS: [
        './examples/provider-plugin-discord',
        './test/fixtures/plugins/broken-throws',
        './test/fixtures/plugins/not-a-provider',
        'no-such-provider-package',
      ].join(','),
    });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
    await hub.dataSource.query('DELETE FROM provider_settings');
  });

  async function delivery(id: string, status: string) {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${id}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${id} to be ${status}`);
  }

  it('lists the example plugin with its package and version beside the built-ins', async () => {
    const r = await hub.call('GET', '/providers');
    const discord = r.body.items.find((p: { id: string }) => p.id === 'discord-example');
    assert.equal(discord.source, '@integrations-hub/provider-discord@0.1.0');
    assert.equal(discord.followUps, true);
    assert.equal(discord.configSchema.properties.webhookUrl['x-secret'], true);
    assert.equal(r.body.items.find((p: { id: string }) => p.id === 'webhook').source, 'builtin');
  });

  it('reports each broken plugin by name and reason while the rest keeps working', async () => {
    const r = await hub.call('GET', '/providers');
    const byPlugin = Object.fromEntries(r.body.loadErrors.map((e: { plugin: string; error: string }) => [e.plugin, e.error]));
    assert.deepEqual(Object.keys(byPlugin).sort(), [
      './test/fixtures/plugins/broken-throws',
      './test/fixtures/plugins/not-a-provider',
      'no-such-provider-package',
    ]);
    assert.match(byPlugin['./test/fixtures/plugins/broken-throws'], /broken on purpose/);
    assert.match(byPlugin['./test/fixtures/plugins/not-a-provider'], /invalid provider .*id must be/);
    assert.match(byPlugin['no-such-provider-package'], /Cannot find module/);
    assert.ok(hub.logs.some((l) => l.includes('provider plugin failed to load')));
  });

  it('delivers through the plugin end to end and edits the same message on a follow-up', async () => {
    receiver.fallback = (req) =>
      req.method === 'POST'
        ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '1190000000000000001', channel_id: '42' }) }
        : { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '1190000000000000001' }) };
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'discord', provider: 'discord-example', event: 'incident.created',
      config: { webhookUrl: `https://discord.com/api/webhooks/123456/${HOOK_TOKEN}`, apiBaseUrl: `${receiver.url}/api` },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    assert.deepEqual(sub.body.config.webhookUrl, { set: true });
    const upd = await hub.call('POST', '/subscriptions', {
      name: 'discord updates', provider: 'discord-example', event: 'incident.updated',
      config: { webhookUrl: `https://discord.com/api/webhooks/123456/${HOOK_TOKEN}`, apiBaseUrl: `${receiver.url}/api` },
    });
    assert.equal(upd.status, 201);
    const created = await hub.call('POST', '/ingest', {
      event: 'incident.created', id: 'plug-1', payload: { incidentId: 'inc-plug', title: 'Queue stuck', severity: 'critical', systemIds: ['q'] },
    });
    const first = await delivery(created.body.deliveries[0].id, 'success');
    assert.equal(first.externalId, '1190000000000000001');
    const post = receiver.received.find((r) => r.method === 'POST')!;
    assert.equal(post.url, `/api/webhooks/123456/${HOOK_TOKEN}?wait=true`);
    const body = JSON.parse(post.body);
    assert.equal(body.embeds[0].title, 'Queue stuck');
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    const updated = await hub.call('POST', '/ingest', {
      event: 'incident.updated', id: 'plug-2', payload: { incidentId: 'inc-plug', title: 'Queue stuck', updateMessage: 'draining', severity: 'critical' },
    });
    const second = await delivery(updated.body.deliveries[0].id, 'success');
    assert.equal(second.externalId, '1190000000000000001');
    const patch = receiver.received.find((r) => r.method === 'PATCH')!;
    assert.equal(patch.url, `/api/webhooks/123456/${HOOK_TOKEN}/messages/1190000000000000001`);
    assert.equal(receiver.received.filter((r) => r.method === 'POST').length, 1, 'no second message');
  });

  it('lets only an admin switch a provider off; its deliveries fail clearly and are redelivered once it is back', async () => {
    receiver.fallback = () => ({ status: 200 });
    assert.equal((await hub.call('PATCH', '/providers/webhook', { enabled: false }, null)).status, 401);
    const off = await hub.call('PATCH', '/providers/webhook', { enabled: false });
    assert.equal(off.status, 200);
    assert.equal(off.body.enabled, false);
    const listed = await hub.call('GET', '/providers');
    assert.equal(listed.body.items.find((p: { id: string }) => p.id === 'webhook').enabled, false);
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'hook', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/switch` },
    });
    assert.equal(sub.status, 201, 'a disabled provider keeps its subscriptions and their configuration');
    const r = await hub.call('POST', '/ingest', {
      event: 'incident.created', id: 'plug-off', payload: { incidentId: 'inc-off', title: 'x', severity: 'minor' },
    });
    assert.equal(r.body.deliveries.length, 1, 'nothing is dropped');
    const failed = await delivery(r.body.deliveries[0].id, 'failed');
    assert.match(failed.error, /disabled/);
    assert.equal(receiver.at('/switch').length, 0);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.body.id}`)).body.pausedReason, null);
    await hub.call('PATCH', '/providers/webhook', { enabled: true });
    await hub.call('POST', `/deliveries/${failed.id}/retry`);
    await delivery(failed.id, 'success');
    assert.equal(receiver.at('/switch').length, 1);
  });

  it('answers 404 for switching a provider that is not installed', async () => {
    assert.equal((await hub.call('PATCH', '/providers/nope', { enabled: false })).status, 404);
  });
});
