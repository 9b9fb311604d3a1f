import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeDiscord } from '../fakes/discord';
import { Hub, waitFor } from '../support/hub';
import { LocalRegistry, npmPack, type PackedPlugin } from '../support/plugin-packages';
import { workerBeside, type ServiceProcess } from '../support/processes';

const HOOK_ID = '223344556677889900';
const HOOK_TOKEN = 'plugin-workers-hook-token-7c1d';

/**
 * Installs reach every process through PostgreSQL: two worker OS processes (each with its own data folder)
 * beside the hub's API. Each delivery below can only be run by one of them, the other being stopped. The plugin
 * is the real example (`examples/provider-plugin-discord`, provider `discord-example`), `npm pack`ed, installed
 * by upload and then from a registry-shaped server, delivering to the strict Discord fake.
 */
describe('plugin manager: every worker process loads installs through PostgreSQL', function () {
  this.timeout(240_000);
  let hub: Hub;
  let fake: FakeDiscord;
  let registry: LocalRegistry;
  let example: PackedPlugin;
  let subId: string;
  const workers: ServiceProcess[] = [];

  before(async () => {
    example = npmPack('./examples/provider-plugin-discord');
    registry = await new LocalRegistry().start();
    registry.add(example);
    const hubDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugins-api-'));
    hub = await Hub.start('plugin-workers', { PLUGIN_INSTALL_ENABLED: 'true', PLUGIN_REGISTRY_URL: registry.url, DATA_DIR: hubDir });
    // from here on only the worker processes run deliveries
    await hub.stopWorker();
    fake = await new FakeDiscord().start();
    fake.addWebhook(HOOK_ID, HOOK_TOKEN);
    for (const name of ['a', 'b']) workers.push(workerBeside(hub.config, `ihub-plugins-worker-${name}-`));
    await Promise.all(workers.map((w) => startWorker(w)));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await hub?.close();
    await fake?.stop();
    await registry?.stop();
  });

  async function startWorker(w: ServiceProcess): Promise<void> {
    w.output.length = 0;
    w.start();
    await waitFor(async () => w.output.join('').includes('worker running'), 'the worker process to run', 60_000);
  }

  const logged = (w: ServiceProcess, msg: string, pluginId: string) =>
    waitFor(async () => w.output.join('').split('\n').some((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"pluginId":"${pluginId}"`)), `${msg} ${pluginId} in the worker log`);

  async function deliverOnce(id: string): Promise<void> {
    const r = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'minor' } });
    assert.equal(r.body.deliveries.length, 1);
    const d = await waitFor(async () => {
      const x = (await hub.call('GET', `/deliveries/${r.body.deliveries[0].id}`)).body;
      return ['success', 'failed'].includes(x.status) ? x : undefined;
    }, `delivery ${id} to finish`, 60_000);
    assert.equal(d.status, 'success', JSON.stringify(d));
    const posts = fake.at('POST').filter((x) => (x.json as { embeds?: { title?: string }[] })?.embeds?.[0]?.title === id);
    assert.equal(posts.length, 1, 'the fake received the message once');
    assert.equal(posts[0].path, `/api/webhooks/${HOOK_ID}/${HOOK_TOKEN}`);
    assert.equal(posts[0].query.get('wait'), 'true');
    assert.ok(d.externalId && fake.messages.has(d.externalId), 'the message id the fake gave');
  }

  it('a worker that was running when the plugin was installed delivers through it', async () => {
    const r = await hub.call('POST', '/plugins', { tarball: example.bytes.toString('base64') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.package, example.name);
    await Promise.all(workers.map((w) => logged(w, 'provider plugin loaded', r.body.id)));
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'discord via plugin', provider: 'discord-example', event: 'incident.created',
      config: { webhookUrl: `https://discord.com/api/webhooks/${HOOK_ID}/${HOOK_TOKEN}`, apiBaseUrl: fake.url },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    assert.deepEqual(sub.body.config.webhookUrl, { set: true });
    subId = sub.body.id;
    await workers[1].stop();
    await deliverOnce('on-worker-a');
  });

  it('a worker started later loads it from the table; an uninstall and a reinstall reach it by NOTIFY', async () => {
    const [a, b] = workers;
    await startWorker(b);
    const first = (await hub.call('GET', '/plugins')).body.items[0];
    await logged(b, 'provider plugin loaded', first.id);
    assert.equal((await hub.call('DELETE', `/plugins/${first.id}`)).status, 200);
    await Promise.all(workers.map((w) => logged(w, 'provider plugin unloaded', first.id)));
    const paused = (await hub.call('GET', `/subscriptions/${subId}`)).body;
    assert.match(paused.pausedReason, new RegExp(`provider plugin ${example.name} was uninstalled`));
    const none = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'while-uninstalled', payload: { incidentId: 'x', title: 'x', severity: 'minor' } });
    assert.equal(none.status, 202, JSON.stringify(none.body));
    assert.deepEqual(none.body.deliveries, [], 'no deliveries for the paused subscription');

    const again = await hub.call('POST', '/plugins', { package: example.name, version: example.version });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.ok(registry.requests.some((u) => u.endsWith('.tgz')), 'the tarball came from the registry-shaped server');
    await Promise.all(workers.map((w) => logged(w, 'provider plugin loaded', again.body.id)));
    assert.equal((await hub.call('GET', `/subscriptions/${subId}`)).body.pausedReason, null, 'resumed by the reinstall');
    await a.stop();
    await deliverOnce('on-worker-b');
  });
});
