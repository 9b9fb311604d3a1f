import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Receiver } from '../fakes/receiver';
import { Hub, waitFor } from '../support/hub';
import { npmPack, packFiles, type PackedPlugin } from '../support/plugin-packages';
import { workerBeside, type ServiceProcess } from '../support/processes';

/**
 * Issue 20: every installed plugin runs in its own plugin host process. Hostile fixture plugins (exit at load,
 * busy loop, memory bomb, a wrapper of http/https/fetch that also reads /proc/<ppid>/environ) are installed
 * beside a well-behaved plugin and a built-in webhook; deliveries run on two worker OS processes (the hub's own
 * worker is stopped), the API is this process. Each hostile plugin affects only its own deliveries.
 */
describe('plugin hosts: hostile plugins run out of process', function () {
  this.timeout(300_000);
  let hub: Hub;
  let receiver: Receiver;
  let shared: string;
  const workers: ServiceProcess[] = [];
  const WEBHOOK_TOKEN = 'other-subscription-bearer-token-9d2f7a';
  const SPY_OWN_SECRET = 'spy-own-config-secret-31c8';

  /** The fixtures: plugins made up here, writing what they see under `shared` (world-writable). */
  function fixture(name: string, body: string): PackedPlugin {
    return packFiles({
      'package.json': JSON.stringify({ name: `@ihub-hostile/${name}`, version: '1.0.0', main: 'index.js' }),
      'index.js': `'use strict';\nconst fs = require('fs');\nconst SHARED = ${JSON.stringify(shared)};\n${body}`,
    });
  }
  const provider = (id: string, deliver: string, extra = '') => `
exports.createProvider = (sdk) => ({
  id: '${id}', displayName: '${id}', description: 'hostile fixture', followUps: false,
  configSchema: sdk.z.object({ url: sdk.z.string().url(), secret: sdk.z.string().optional().meta(sdk.SECRET_META) }).strict(),
  ${extra}
  async deliver(ctx) { ${deliver} },
});`;

  before(async () => {
    shared = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-hostile-'));
    fs.chmodSync(shared, 0o777);
    receiver = await new Receiver().start();
    hub = await Hub.start('plugin-hosts', {
      PLUGIN_INSTALL_ENABLED: 'true',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-hosts-api-')),
      PLUGIN_CALL_TIMEOUT_MS: '5000',
      PLUGIN_MAX_MEMORY_MB: '64',
    });
    await hub.stopWorker();
    for (const name of ['a', 'b']) workers.push(workerBeside(hub.config, `ihub-hosts-worker-${name}-`, { PLUGIN_CALL_TIMEOUT_MS: '5000', PLUGIN_MAX_MEMORY_MB: '64' }));
    for (const w of workers) w.start();
    await Promise.all(workers.map((w) => waitFor(async () => w.output.join('').includes('worker running'), 'the worker process to run', 60_000)));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await hub?.close();
    await receiver?.stop();
  });

  const workerPids = () => workers.map((w) => w.child?.pid);
  const workersAlive = () => workers.every((w) => w.child && w.child.exitCode === null && w.child.signalCode === null);

  async function install(pkg: PackedPlugin) {
    const r = await hub.call('POST', '/plugins', { tarball: pkg.bytes.toString('base64') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const loadedEverywhere = () =>
      waitFor(
        async () => workers.every((w) => w.output.join('').split('\n').some((l) => l.includes('"msg":"provider plugin loaded"') && l.includes(`"pluginId":"${r.body.id}"`))),
        `${pkg.name} loaded in both workers`,
        30_000,
      );
    return { id: r.body.id as string, body: r.body, loadedEverywhere };
  }

  async function subscribe(providerId: string, name: string, config: Record<string, unknown>, event = 'incident.created') {
    const r = await hub.call('POST', '/subscriptions', { name, provider: providerId, event, config });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  async function ingest(id: string) {
    const r = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'minor' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.deliveries as { id: string; subscriptionId: string }[];
  }

  const finished = (id: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const d = (await hub.call('GET', `/deliveries/${id}`)).body;
      return ['success', 'failed'].includes(d.status) ? d : undefined;
    }, `delivery ${id} to finish`, timeoutMs);

  /** Processes whose command line names the plugin (its host runs from a folder named after its id). */
  function hostProcessesOf(pluginId: string): number[] {
    const pids: number[] = [];
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(`ihub-plugin-${pluginId}-`)) pids.push(Number(e));
      } catch {
        // gone
      }
    }
    return pids;
  }

  let echoSub = '';
  let webhookSub = '';

  /** A built-in webhook (with a bearer token) and a well-behaved plugin deliver beside the hostile ones. */
  async function goodDeliveriesSucceed(tag: string): Promise<void> {
    const ds = await ingest(tag);
    for (const sub of [echoSub, webhookSub]) {
      const d = ds.find((x) => x.subscriptionId === sub);
      assert.ok(d, `a delivery for ${sub}`);
      const done = await finished(d.id, 30_000);
      assert.equal(done.status, 'success', `${tag}: ${JSON.stringify(done)}`);
    }
  }

  it('delivers through a well-behaved plugin host and the built-in webhook', async () => {
    const echo = await install(npmPack('./test/fixtures/plugins/provider-echo'));
    await echo.loadedEverywhere();
    echoSub = await subscribe('echo-hook', 'echo', { url: `${receiver.url}/echo` });
    webhookSub = await subscribe('webhook', 'builtin', { url: `${receiver.url}/builtin`, auth: { type: 'bearer', token: WEBHOOK_TOKEN } });
    await goodDeliveriesSucceed('good-1');
    assert.equal(receiver.at('/echo').length, 1);
    assert.equal(receiver.at('/builtin')[0].headers.authorization, `Bearer ${WEBHOOK_TOKEN}`);
    // the host runs as nobody, not as the hub
    const pids = hostProcessesOf(echo.id);
    assert.ok(pids.length >= 3, `a host in the API and in each worker (found ${pids.length})`);
    for (const pid of pids) assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+65534\s/m, `host ${pid} runs as nobody`);
  });

  it('a wrapper of http/https/fetch that reads /proc/<ppid>/environ sees no secret of the hub or of another subscription', async () => {
    const spy = fixture(
      'spy',
      `
const http = require('http'), https = require('https'), net = require('net');
const seen = [];
const note = (what, args) => { const line = what + ' ' + JSON.stringify(args, (k, v) => (typeof v === 'function' ? 'fn' : v)); seen.push(line); fs.appendFileSync(SHARED + '/spy-seen', line + '\\n'); };
for (const [name, mod] of [['http', http], ['https', https]]) {
  const orig = mod.request;
  mod.request = function (...args) { note(name + '.request', args); return orig.apply(this, args); };
}
const origFetch = globalThis.fetch;
globalThis.fetch = (...args) => { note('fetch', args); return origFetch(...args); };
setInterval(() => fs.appendFileSync(SHARED + '/spy-alive', process.pid + ' ' + Date.now() + '\\n'), 100);
function environs() {
  const out = {};
  for (const pid of [process.ppid, 1, ...fs.readdirSync('/proc').filter((e) => /^\\d+$/.test(e))]) {
    try { out[pid] = fs.readFileSync('/proc/' + pid + '/environ', 'utf8'); } catch (e) { if (pid === process.ppid || pid === 1) out[pid] = 'ERR ' + e.code; }
  }
  return out;
}
async function attempts(url) {
  const out = {};
  try { await new Promise((res, rej) => { const s = net.connect(Number(new URL(url).port), '127.0.0.1'); s.on('connect', res); s.on('error', rej); }); out.net = 'connected'; } catch (e) { out.net = String(e.message); }
  try { await fetch(url); out.fetch = 'sent'; } catch (e) { out.fetch = String(e.message); }
  try { http.get(url); out.http = 'sent'; } catch (e) { out.http = String(e.message); }
  try { require('child_process').execSync('id'); out.exec = 'ran'; } catch (e) { out.exec = String(e.message); }
  return out;
}
${provider(
  'spy-hook',
  `const report = { seen, env: process.env, environs: environs(), attempts: await attempts(ctx.config.url), ownSecret: ctx.config.secret, uid: process.getuid(), ppid: process.ppid };
   const res = await ctx.http.request({ method: 'POST', url: ctx.config.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
   return sdk.outcomeFromResponse(res, { secrets: [] });`,
)}`,
    );
    const installed = await install(spy);
    await installed.loadedEverywhere();
    const spySub = await subscribe('spy-hook', 'spy', { url: `${receiver.url}/spy`, secret: SPY_OWN_SECRET });
    const ds = await ingest('spy-1');
    for (const d of ds) assert.equal((await finished(d.id)).status, 'success', `delivery to ${d.subscriptionId}`);
    const got = receiver.at('/spy');
    assert.equal(got.length, 1);
    const report = JSON.parse(got[0].body);
    assert.equal(report.ownSecret, SPY_OWN_SECRET, "its own subscription's secret reaches it (that attempt only)");
    assert.equal(report.uid, 65534);
    assert.deepEqual(Object.keys(report.env).filter((k) => !k.startsWith('NODE_CHANNEL')).sort(), ['NODE_ENV', 'PATH'], 'a minimal environment');
    assert.equal(report.environs[String(report.ppid)], 'ERR EACCES', "the hub's /proc/<ppid>/environ is refused");
    assert.equal(report.environs['1'], 'ERR EACCES');
    // its own sockets, fetch, http and child processes are refused
    assert.match(report.attempts.net, /not available to provider plugins|ENETUNREACH|EACCES/);
    assert.match(report.attempts.fetch, /not available to provider plugins/);
    assert.match(report.attempts.http, /not available to provider plugins/);
    assert.match(report.attempts.exec, /not available to provider plugins/);
    // nothing secret of the hub or of the other subscriptions, anywhere in what it saw
    const text = got[0].body;
    const dbUrl = String(hub.config.databaseUrl);
    const dbPassword = new URL(dbUrl).password;
    for (const secret of [hub.config.encryption.masterKey, WEBHOOK_TOKEN, dbUrl, ...(dbPassword ? [dbPassword] : [])]) {
      assert.ok(!text.includes(secret), `the plugin saw a secret (${secret.slice(0, 6)}...)`);
    }
    assert.ok(receiver.at('/builtin').some((r) => r.headers.authorization === `Bearer ${WEBHOOK_TOKEN}`), 'the webhook was delivered with its token meanwhile');
    const seenFile = fs.existsSync(path.join(shared, 'spy-seen')) ? fs.readFileSync(path.join(shared, 'spy-seen'), 'utf8') : '';
    assert.ok(!seenFile.includes(WEBHOOK_TOKEN), 'its wrappers never saw the webhook request');
    assert.ok(seenFile.includes('fetch'), 'its wrappers ran (on its own attempts)');
    await hub.call('DELETE', `/subscriptions/${spySub}`);

    // uninstall: its hosts end in the API and in both workers; nothing of it runs after
    assert.equal((await hub.call('DELETE', `/plugins/${installed.id}`)).status, 200);
    await waitFor(async () => hostProcessesOf(installed.id).length === 0, 'no host of the uninstalled spy anywhere', 20_000);
    const alive = path.join(shared, 'spy-alive');
    const sizeAfter = fs.statSync(alive).size;
    const seenAfter = fs.readFileSync(path.join(shared, 'spy-seen'), 'utf8');
    await goodDeliveriesSucceed('after-spy-uninstall');
    assert.equal(fs.statSync(alive).size, sizeAfter, 'its timer no longer runs');
    assert.equal(fs.readFileSync(path.join(shared, 'spy-seen'), 'utf8'), seenAfter, 'the wrapper sees nothing after uninstall');

    // reinstall without restart: delivers again
    const again = await install(spy);
    await again.loadedEverywhere();
    const sub2 = await subscribe('spy-hook', 'spy again', { url: `${receiver.url}/spy2` });
    const [d] = (await ingest('spy-2')).filter((x) => x.subscriptionId === sub2);
    assert.equal((await finished(d.id)).status, 'success');
    assert.equal(receiver.at('/spy2').length, 1);
    await hub.call('DELETE', `/subscriptions/${sub2}`);
    assert.equal((await hub.call('DELETE', `/plugins/${again.id}`)).status, 200);
    assert.deepEqual(workerPids(), workers.map((w) => w.child?.pid));
    assert.ok(workersAlive());
  });

  /** Subscribes a hub event sink, so `hub.plugin.failing` can be seen delivered. */
  async function failingEventFor(pluginId: string) {
    return waitFor(
      async () =>
        receiver
          .at('/hub-events')
          .map((r) => JSON.parse(r.body))
          .find((b) => b.type === 'hub.plugin.failing' && b.data?.pluginId === pluginId),
      `hub.plugin.failing for ${pluginId}`,
      120_000,
    );
  }

  it('a busy loop after load fails only its own deliveries, the API answers /healthz within 100 ms (p99), and the plugin is disabled', async () => {
    await subscribe('webhook', 'hub events', { url: `${receiver.url}/hub-events` }, 'hub.plugin.failing');
    const probe = async (ms: number, min: number) => {
      const latencies: number[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until || latencies.length < min) {
        const t = process.hrtime.bigint();
        const r = await fetch(`${hub.baseUrl}/healthz`);
        await r.arrayBuffer();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        assert.equal(r.status, 200);
      }
      return latencies.sort((a, b) => a - b);
    };
    const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))];
    // the same probes before any plugin spins: what this machine's load alone gives (reported, not asserted)
    const quiet = await probe(3_000, 150);
    const busy = fixture(
      'busy',
      provider(
        'busy-hook',
        'for (;;) {}',
        // in the API's host too: once a config is checked, it spins
        "validateConfig() { setTimeout(() => { for (;;) {} }, 50); return []; },",
      ),
    );
    const installed = await install(busy);
    await installed.loadedEverywhere();
    const pids = workerPids();
    const sub = await subscribe('busy-hook', 'busy', { url: `${receiver.url}/busy` });
    const ds = await ingest('busy-1');
    const own = ds.find((d) => d.subscriptionId === sub)!;

    // probe the API while hosts spin (its own host since the subscription was saved, the workers' on deliver)
    const probing = probe(8_000, 300);
    await goodDeliveriesSucceed('busy-neighbours');
    const latencies = await probing;
    const p99 = p(latencies, 0.99);
    console.log(
      `      /healthz while plugins spin: ${latencies.length} probes, p50 ${p(latencies, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms` +
        ` (before: ${quiet.length} probes, p50 ${p(quiet, 0.5).toFixed(1)} ms, p99 ${p(quiet, 0.99).toFixed(1)} ms)`,
    );
    assert.ok(p99 < 100, `healthz p99 ${p99.toFixed(1)} ms over ${latencies.length} probes`);

    const event = await failingEventFor(installed.id);
    assert.match(event.data.reason, /did not answer/);
    assert.deepEqual(event.data.pausedSubscriptions, [sub]);
    const plugin = (await hub.call('GET', `/plugins/${installed.id}`)).body;
    assert.equal(plugin.status, 'disabled');
    assert.match(plugin.disabledReason, /crashed 3 times/);
    assert.match((await hub.call('GET', `/subscriptions/${sub}`)).body.pausedReason, /kept crashing and was disabled/);
    const d = await finished(own.id, 90_000);
    assert.equal(d.status, 'failed', 'its delivery ends once its provider is gone');
    assert.equal(d.attempts, 1, 'the hung attempts were infrastructure failures, not counted: only the last (provider gone) is');
    assert.match(d.error, /not installed/);
    assert.equal(receiver.at('/busy').length, 0);
    await waitFor(async () => hostProcessesOf(installed.id).length === 0, 'no host of the disabled plugin anywhere', 20_000);
    assert.deepEqual(workerPids(), pids, 'the workers never restarted');
    assert.ok(workersAlive());
    await goodDeliveriesSucceed('after-busy');
  });

  it('a memory bomb ends only its own host', async () => {
    const bomb = fixture('bomb', provider('bomb-hook', 'const hog = []; for (;;) hog.push(new Array(1e6).fill(Math.random()));'));
    const installed = await install(bomb);
    await installed.loadedEverywhere();
    const pids = workerPids();
    const sub = await subscribe('bomb-hook', 'bomb', { url: `${receiver.url}/bomb` });
    await ingest('bomb-1');
    await goodDeliveriesSucceed('bomb-neighbours');
    const event = await failingEventFor(installed.id);
    assert.match(event.data.reason, /killed \(SIGABRT|SIGTRAP|SIGSEGV|exited \(code 134\)|exited \(code 133\)/);
    assert.match((await hub.call('GET', `/subscriptions/${sub}`)).body.pausedReason, /kept crashing/);
    assert.deepEqual(workerPids(), pids);
    assert.ok(workersAlive());
    await goodDeliveriesSucceed('after-bomb');
  });

  it('a plugin that exits at load outside the trial is disabled; the processes it was loaded in keep running', async () => {
    // loads #1 (the trial) and #2 (the API) pass; every later load (the workers, restarts) exits
    const exits = fixture(
      'exit-later',
      `const n = (fs.existsSync(SHARED + '/exit-loads') ? fs.readFileSync(SHARED + '/exit-loads', 'utf8').length : 0) + 1;
fs.appendFileSync(SHARED + '/exit-loads', 'x');
if (n > 2) process.exit(42);
${provider('exit-hook', "return { kind: 'success' };")}`,
    );
    const r = await hub.call('POST', '/plugins', { tarball: exits.bytes.toString('base64') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const event = await failingEventFor(r.body.id);
    assert.match(event.data.reason, /exited \(code 42\)/);
    assert.equal((await hub.call('GET', `/plugins/${r.body.id}`)).body.status, 'disabled');
    assert.ok(workersAlive());
    await goodDeliveriesSucceed('after-exit');
    const crashed = workers.flatMap((w) => w.output.join('').split('\n')).filter((l) => l.includes('"msg":"plugin host crashed"') && l.includes(r.body.id));
    assert.ok(crashed.length >= 1 && crashed.every((l) => l.includes('exited (code 42)')), 'the workers saw its host exit, and went on');
  });
});
