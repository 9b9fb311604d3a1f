import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { isPluginHostFailure, type PluginHostSettings } from '../../src/plugins/host-client';
import { PluginHost, remoteDefinition, remoteOf } from '../../src/plugins/remote-provider';
import type { GuardedHttpClient, OutboundRequest } from '../../providers/types';

const ECHO = path.resolve(__dirname, '../../../test/fixtures/plugins/provider-echo');
const SETTINGS: PluginHostSettings = { runAsUser: 'nobody', maxMemoryMb: 128, callTimeoutMs: 3000, maxCrashes: 2, crashWindowMs: 60_000 };
const silent = pino({ level: 'silent' });

/** A plugin folder written from source. */
function plugin(source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-host-unit-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'unit-plugin', version: '1.0.0', main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'index.js'), source);
  return dir;
}

const event = { id: 'evt_1', type: 'incident.created', displayName: 'Incident created', occurredAt: new Date().toISOString(), systemIds: [], payload: { title: 'Disk full' }, resolves: false };
const ctx = (config: Record<string, unknown>, http: GuardedHttpClient) => ({
  deliveryId: 'dlv_1', attempt: 1, event, subscription: { id: 'sub_1', name: 's' }, config, test: false, redelivery: false, http,
});

describe('plugin host (one plugin in a child process, over IPC)', function () {
  this.timeout(60_000);
  const hosts: PluginHost[] = [];
  afterEach(() => hosts.splice(0).forEach((h) => h.stop()));
  const host = (dir: string, settings = SETTINGS, onFailing: (r: string) => void = () => undefined) => {
    const h = new PluginHost(`plg_unit${hosts.length}`, dir, settings, silent, onFailing);
    hosts.push(h);
    return h;
  };

  it('describes, validates in the host and delivers with the HTTP the hub sends', async () => {
    const h = host(ECHO);
    const [desc] = await h.describe();
    assert.equal(desc.id, 'echo-hook');
    assert.deepEqual((desc.configJsonSchema as { required: string[] }).required, ['url']);
    const def = remoteDefinition(desc, h);
    const remote = remoteOf(def)!;
    const bad = await remote.validate('config', { url: 'not a url', extra: 1 });
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.ok ? [] : bad.problems.map((p) => p.path).sort(), ['config.extra', 'config.url']);
    const sent: OutboundRequest[] = [];
    const http: GuardedHttpClient = {
      async request(req) {
        sent.push(req);
        return { status: 202, headers: {}, body: '', durationMs: 1 };
      },
    };
    const outcome = await def.deliver(ctx({ url: 'https://hooks.example.com/x' }, http));
    assert.equal(outcome.kind, 'success');
    assert.equal(sent.length, 1);
    assert.equal(sent[0].url, 'https://hooks.example.com/x');
    assert.equal(JSON.parse(String(sent[0].body)).title, 'Disk full');
    assert.notEqual(h.pid, process.pid);
  });

  it('fails a call past its deadline as a host failure, kills the host, and starts a new one for the next call', async () => {
    const dir = plugin(`exports.createProvider = (sdk) => ({ id: 'spin', displayName: 'spin', description: '', followUps: false,
      configSchema: sdk.z.object({ spin: sdk.z.boolean().optional() }), async deliver(ctx) { if (ctx.config.spin) for (;;) {} return { kind: 'success' }; } });`);
    const h = host(dir, { ...SETTINGS, callTimeoutMs: 1000, maxCrashes: 5 });
    const def = remoteDefinition((await h.describe())[0], h);
    const first = h.pid;
    const http: GuardedHttpClient = { request: async () => ({ status: 200, headers: {}, body: '', durationMs: 0 }) };
    const err = await def.deliver(ctx({ spin: true }, http)).then(() => undefined, (e: unknown) => e);
    assert.ok(isPluginHostFailure(err), String(err));
    assert.match((err as Error).message, /did not answer deliver within 1000 ms/);
    assert.equal(h.pid, undefined, 'the hung host is gone');
    // a new host answers (a call within the backoff fails at once, without starting one)
    let outcome;
    const deadline = Date.now() + 10_000;
    while (!outcome && Date.now() < deadline) {
      outcome = await def.deliver(ctx({}, http)).catch(() => undefined);
      if (!outcome) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(outcome?.kind, 'success');
    assert.ok(h.pid && h.pid !== first, 'a new host');
  });

  it('tells once that a plugin fails when its host crashed maxCrashes times', async () => {
    const dir = plugin(`exports.createProvider = (sdk) => ({ id: 'crash', displayName: 'crash', description: '', followUps: false,
      configSchema: sdk.z.object({}), async deliver() { process.exit(7); } });`);
    const told: string[] = [];
    const h = host(dir, { ...SETTINGS, maxCrashes: 2 }, (r) => told.push(r));
    const def = remoteDefinition((await h.describe())[0], h);
    const http: GuardedHttpClient = { request: async () => ({ status: 200, headers: {}, body: '', durationMs: 0 }) };
    for (let i = 0; i < 2; i++) {
      const deadline = Date.now() + 10_000;
      let err: unknown;
      // (a call during the backoff fails without starting the host: try until one reaches it)
      do {
        err = await def.deliver(ctx({}, http)).then(() => undefined, (e: unknown) => e);
        if (/restarts in/.test(String(err))) await new Promise((r) => setTimeout(r, 100));
      } while (/restarts in/.test(String(err)) && Date.now() < deadline);
      assert.match(String(err), /exited \(code 7\)/);
    }
    assert.equal(told.length, 1);
    assert.match(told[0], /crashed 2 times within 60 s; last: it exited \(code 7\)/);
  });

  it('refuses the plugin its own network, processes and the hub environment', async () => {
    const dir = plugin(`const net = require('net');
      exports.createProvider = (sdk) => ({ id: 'probe', displayName: 'probe', description: '', followUps: false, configSchema: sdk.z.object({}),
        async deliver() {
          const tries = {};
          for (const [k, f] of Object.entries({ net: () => net.connect(80, '1.1.1.1'), exec: () => require('child_process').execSync('id'), fetch: () => fetch('http://1.1.1.1') }))
            try { await f(); tries[k] = 'ran'; } catch (e) { tries[k] = e.message; }
          let environ; try { require('fs').readFileSync('/proc/' + process.ppid + '/environ'); environ = 'read'; } catch (e) { environ = e.code; }
          return { kind: 'success', log: JSON.stringify({ tries, environ, env: Object.keys(process.env).sort(), uid: process.getuid() }) };
        } });`);
    const h = host(dir);
    const def = remoteDefinition((await h.describe())[0], h);
    const outcome = await def.deliver(ctx({}, { request: async () => ({ status: 200, headers: {}, body: '', durationMs: 0 }) }));
    const seen = JSON.parse(outcome.log!);
    for (const k of ['net', 'exec', 'fetch']) assert.match(seen.tries[k], /not available to provider plugins/, k);
    assert.deepEqual(seen.env.filter((k: string) => !k.startsWith('NODE_CHANNEL')), ['NODE_ENV', 'PATH']);
    if (process.getuid?.() === 0) {
      assert.equal(seen.environ, 'EACCES');
      assert.equal(seen.uid, 65534);
    }
  });
});
