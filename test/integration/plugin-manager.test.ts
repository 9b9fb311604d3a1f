import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProviderRegistry } from '../../providers/registry';
import { PluginRuntime } from '../../src/plugins/runtime';
import { Receiver } from '../fakes/receiver';
import { Hub, waitFor } from '../support/hub';
import http from 'node:http';
import { craftTarball, LocalRegistry, npmPack, packFiles, type CraftedEntry, type PackedPlugin } from '../support/plugin-packages';

const ECHO = './test/fixtures/plugins/provider-echo';

describe('plugin manager: installing provider plugins at run time', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let registry: LocalRegistry;
  let echo: PackedPlugin;
  let dataDir: string;

  before(async () => {
    echo = npmPack(ECHO);
    registry = await new LocalRegistry().start();
    registry.add(echo);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugins-data-'));
    hub = await Hub.start('plugin-manager', {
      PLUGIN_INSTALL_ENABLED: 'true',
      PLUGIN_REGISTRY_URL: registry.url,
      PLUGIN_ALLOWED_SCOPES: '@ihub-test',
      PLUGIN_MAX_UNPACKED_BYTES: String(8 * 1024 * 1024),
      DATA_DIR: dataDir,
    });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
    await registry?.stop();
  });

  async function delivery(id: string, status: string) {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${id}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${id} to be ${status}`);
  }

  async function ingest(id: string) {
    const r = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Title ${id}`, severity: 'minor' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.deliveries as { id: string; subscriptionId: string }[];
  }

  const providerIds = async () => ((await hub.call('GET', '/providers')).body.items as { id: string }[]).map((p) => p.id);
  let installed: { id: string };
  let subId: string;
  let otherSubId: string;

  it('refuses what it must not install, naming the field', async () => {
    const bad = await hub.call('POST', '/plugins', { package: 'Not A Name', version: '1.0.0' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'body.package');
    const scope = await hub.call('POST', '/plugins', { package: 'left-pad', version: '1.3.0' });
    assert.equal(scope.status, 422);
    assert.match(scope.body.detail, /not in an allowed scope \(@ihub-test\)/);
    const missing = await hub.call('POST', '/plugins', { package: '@ihub-test/nothing', version: '1.0.0' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].path, 'package');
    const version = await hub.call('POST', '/plugins', { package: echo.name, version: '9.9.9' });
    assert.equal(version.status, 404);
    assert.equal(version.body.errors[0].path, 'version');
    const garbage = await hub.call('POST', '/plugins', { tarball: Buffer.from('not a tarball at all').toString('base64') });
    assert.equal(garbage.status, 422);
    assert.equal(garbage.body.errors[0].path, 'tarball');
    const withDeps = packFiles({
      'package.json': JSON.stringify({ name: '@ihub-test/with-deps', version: '1.0.0', main: 'index.js', dependencies: { 'left-pad': '1.3.0' } }),
      'index.js': 'exports.x = 1;',
    });
    const deps = await hub.call('POST', '/plugins', { tarball: withDeps.bytes.toString('base64') });
    assert.equal(deps.status, 422);
    assert.equal(deps.body.errors[0].path, 'tarball');
    assert.match(deps.body.detail, /must bundle their dependencies \(found left-pad\)/);
    const outOfScope = packFiles({ 'package.json': JSON.stringify({ name: 'unscoped-plugin', version: '1.0.0', main: 'index.js' }), 'index.js': '' });
    const scoped = await hub.call('POST', '/plugins', { tarball: outOfScope.bytes.toString('base64') });
    assert.equal(scoped.status, 422, 'the allow-list holds for uploads too');
    assert.equal(scoped.body.errors[0].path, 'tarball');
    assert.equal((await hub.call('POST', '/plugins', { tarball: echo.bytes.toString('base64') }, null)).status, 401);
    assert.deepEqual((await hub.call('GET', '/plugins')).body.items, [], 'nothing was recorded');
  });

  describe('unpacking (issue 19: a 1 MB upload unpacked to 1.1 GiB; crafted entries answered 500)', () => {
    const manifest = (extra: Record<string, unknown> = {}): CraftedEntry => ({
      name: 'package/package.json', body: JSON.stringify({ name: '@ihub-test/crafted', version: '1.0.0', main: 'index.js', ...extra }),
    });
    const index: CraftedEntry = { name: 'package/index.js', body: 'exports.provider = undefined;' };
    const upload = (entries: CraftedEntry[]) => hub.call('POST', '/plugins', { tarball: craftTarball(entries).toString('base64') });

    it('refuses a package that unpacks past PLUGIN_MAX_UNPACKED_BYTES or holds too many entries, with 422', async () => {
      const bomb = craftTarball([manifest(), index, { name: 'package/zeros.bin', body: Buffer.alloc(64 * 1024 * 1024) }]);
      assert.ok(bomb.length < 200 * 1024, `the upload is ${bomb.length} bytes`);
      const big = await hub.call('POST', '/plugins', { tarball: bomb.toString('base64') });
      assert.equal(big.status, 422, JSON.stringify(big.body));
      assert.equal(big.body.errors[0].path, 'tarball');
      assert.match(big.body.detail, /unpacks to more than 8388608 bytes/);
      const many = await upload([manifest(), index, ...Array.from({ length: 10_001 }, (_, i) => ({ name: `package/f${i}.js`, body: '' }))]);
      assert.equal(many.status, 422, JSON.stringify(many.body));
      assert.match(many.body.detail, /more than 10000 entries/);
    });

    const crafted: Array<[string, CraftedEntry[], RegExp]> = [
      ['a ../ entry', [manifest(), index, { name: 'package/../../escape.js', body: 'x' }], /leaves the package/],
      ['an absolute entry', [manifest(), index, { name: '/tmp/ihub-absolute.js', body: 'x' }], /absolute path/],
      ['a write through a symbolic link', [manifest(), index, { name: 'package/out', type: 'symlink', linkname: '/tmp' }, { name: 'package/out/ihub-through.js', body: 'x' }], /symbolic link/],
      ['a hard link to /etc/passwd', [manifest(), index, { name: 'package/passwd', type: 'hardlink', linkname: '/etc/passwd' }], /hard link/],
      ['a main outside the package', [manifest({ main: '../../../outside.js' }), index], /"main" .* points outside the package/],
      ['a symbolic link as main', [manifest({ main: 'entry.js' }), index, { name: 'package/entry.js', type: 'symlink', linkname: '/tmp/ihub-elsewhere.js' }], /symbolic link/],
    ];
    for (const [what, entries, detail] of crafted) {
      it(`refuses ${what} with 422 naming tarball, writing nothing`, async () => {
        const res = await upload(entries);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(res.body.errors[0].path, 'tarball');
        assert.match(res.body.detail, detail);
        assert.ok(!fs.existsSync('/tmp/ihub-through.js') && !fs.existsSync('/tmp/ihub-absolute.js'));
      });
    }

    it('fetches from the registry under the outbound address policy and follows no redirect', async () => {
      const redirecting = http.createServer((req, res) => res.writeHead(302, { location: `${registry.url}${req.url}` }).end());
      await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
      const strict = await Hub.start('plugin-manager-strict', {
        PLUGIN_INSTALL_ENABLED: 'true', PLUGIN_REGISTRY_URL: registry.url, OUTBOUND_ALLOWED_NETWORKS: '',
      });
      const redirected = await Hub.start('plugin-manager-redirect', {
        PLUGIN_INSTALL_ENABLED: 'true', PLUGIN_REGISTRY_URL: `http://127.0.0.1:${(redirecting.address() as { port: number }).port}`,
      });
      try {
        const before = registry.requests.length;
        const blocked = await strict.call('POST', '/plugins', { package: echo.name, version: echo.version });
        assert.equal(blocked.status, 502, JSON.stringify(blocked.body));
        assert.match(blocked.body.detail, /could not be reached: .*(loopback|not allowed)/);
        assert.equal(registry.requests.length, before, 'nothing reached the loopback registry');
        const moved = await redirected.call('POST', '/plugins', { package: echo.name, version: echo.version });
        assert.equal(moved.status, 502, JSON.stringify(moved.body));
        assert.match(moved.body.detail, /redirected \(302\); redirects are not followed/);
        assert.equal(registry.requests.length, before, 'the redirect was not followed');
      } finally {
        await strict.close();
        await redirected.close();
        redirecting.close();
      }
    });
  });

  it('refuses a registry tarball that does not match the registry integrity', async () => {
    const tampered = packFiles({ 'package.json': JSON.stringify({ name: '@ihub-test/tampered', version: '1.0.0', main: 'index.js' }), 'index.js': 'exports.x = 1;' });
    registry.add(tampered, echo.integrity);
    const r = await hub.call('POST', '/plugins', { package: '@ihub-test/tampered', version: '1.0.0' });
    assert.equal(r.status, 422);
    assert.match(r.body.detail, /does not match the registry's integrity/);
  });

  it('installs an uploaded tarball, loads it without a restart and records who installed what', async () => {
    assert.ok(!(await providerIds()).includes('echo-hook'));
    const r = await hub.call('POST', '/plugins', { tarball: echo.bytes.toString('base64') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    installed = r.body;
    assert.equal(r.body.package, '@ihub-test/provider-echo');
    assert.equal(r.body.version, '1.0.0');
    assert.equal(r.body.integrity, echo.integrity);
    assert.equal(r.body.origin, 'upload');
    assert.equal(r.body.status, 'installed');
    assert.deepEqual(r.body.providers, ['echo-hook']);
    assert.equal(r.body.installedBy, 'env:ADMIN_TOKEN');
    const [row] = await hub.dataSource.query(`SELECT package, version, integrity, installed_by, installed_at FROM plugins WHERE id = $1`, [r.body.id]);
    assert.equal(row.integrity, echo.integrity);
    assert.equal(row.installed_by, 'env:ADMIN_TOKEN');
    assert.ok(fs.existsSync(path.join(dataDir, 'plugins', r.body.id, 'index.js')), 'unpacked into the data folder');
    const listed = (await hub.call('GET', '/providers')).body.items.find((p: { id: string }) => p.id === 'echo-hook');
    assert.equal(listed.source, '@ihub-test/provider-echo@1.0.0');
    const again = await hub.call('POST', '/plugins', { tarball: echo.bytes.toString('base64') });
    assert.equal(again.status, 409);
  });

  it('delivers through the installed plugin', async () => {
    const sub = await hub.call('POST', '/subscriptions', { name: 'echo', provider: 'echo-hook', event: 'incident.created', config: { url: `${receiver.url}/echo` } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    subId = sub.body.id;
    const other = await hub.call('POST', '/subscriptions', { name: 'echo 2', provider: 'echo-hook', event: 'incident.created', config: { url: `${receiver.url}/echo2` } });
    otherSubId = other.body.id;
    const ds = await ingest('pm-1');
    for (const d of ds) await delivery(d.id, 'success');
    const got = receiver.received.filter((r) => r.url === '/echo');
    assert.equal(got.length, 1);
    assert.equal(got[0].headers['x-echo-plugin'], '1.0.0');
    assert.equal(JSON.parse(got[0].body).title, 'Title pm-1');
  });

  it('counts the deliveries still in flight in the uninstall preview', async () => {
    receiver.fallback = (req) => (req.url === '/echo2' ? { status: 503 } : { status: 200 });
    const ds = await ingest('pm-flight');
    const stuck = ds.find((d) => d.subscriptionId === otherSubId)!;
    await delivery(stuck.id, 'retrying');
    const preview = await hub.call('GET', `/plugins/${installed.id}/uninstall-preview`);
    assert.equal(preview.body.deliveriesInFlight, 1);
  });

  it('previews an uninstall, then pauses its subscriptions with a reason and unloads it', async () => {
    // one subscription already paused for its own reason: the uninstall must neither count nor later resume it
    await hub.dataSource.query(`UPDATE subscriptions SET paused_reason = 'the receiver answered 410' WHERE id = $1`, [otherSubId]);
    const preview = await hub.call('GET', `/plugins/${installed.id}/uninstall-preview`);
    assert.equal(preview.status, 200);
    assert.deepEqual(preview.body.providers, ['echo-hook']);
    assert.deepEqual(preview.body.subscriptions.map((s: { id: string }) => s.id), [subId]);
    assert.deepEqual(preview.body.connections, []);
    assert.equal(preview.body.deliveriesInFlight, 1, 'the delivery still retrying');
    assert.equal((await hub.call('GET', '/plugins/nope/uninstall-preview')).status, 404);

    const del = await hub.call('DELETE', `/plugins/${installed.id}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal(del.body.plugin.status, 'uninstalled');
    assert.equal(del.body.plugin.uninstalledBy, 'env:ADMIN_TOKEN');
    assert.ok(!(await providerIds()).includes('echo-hook'));
    const sub = (await hub.call('GET', `/subscriptions/${subId}`)).body;
    assert.match(sub.pausedReason, /provider plugin @ihub-test\/provider-echo was uninstalled/);
    assert.deepEqual(sub.config, {}, 'with its provider gone nothing is known of its secrets: no values shown');
    const [row] = await hub.dataSource.query(`SELECT config FROM subscriptions WHERE id = $1`, [subId]);
    assert.equal(row.config.url, `${receiver.url}/echo`, 'kept with its configuration');
    assert.deepEqual(await ingest('pm-2'), [], 'no deliveries for paused subscriptions');
    assert.equal((await hub.call('DELETE', `/plugins/${installed.id}`)).status, 404);
    assert.ok(!fs.existsSync(path.join(dataDir, 'plugins', installed.id)));
  });

  it('reinstalls from a registry-shaped server and resumes only the subscriptions the uninstall paused', async () => {
    const r = await hub.call('POST', '/plugins', { package: echo.name, version: echo.version });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.origin, 'registry');
    assert.equal(r.body.integrity, echo.integrity);
    assert.ok(registry.requests.includes(`/${echo.name}`));
    const resumed = (await hub.call('GET', `/subscriptions/${subId}`)).body;
    assert.equal(resumed.pausedReason, null);
    assert.equal(resumed.config.url, `${receiver.url}/echo`);
    assert.equal((await hub.call('GET', `/subscriptions/${otherSubId}`)).body.pausedReason, 'the receiver answered 410');
    const ds = await ingest('pm-3');
    assert.deepEqual(ds.map((d) => d.subscriptionId), [subId]);
    await delivery(ds[0].id, 'success');
    assert.equal(receiver.received.filter((x) => x.url === '/echo').length, 3);
    const history = (await hub.call('GET', '/plugins')).body.items.map((p: { status: string; origin: string }) => `${p.origin}:${p.status}`);
    assert.deepEqual(history, ['registry:installed', 'upload:uninstalled']);
  });

  it('another process learns of installs by NOTIFY, also after its LISTEN connection was cut', async () => {
    const other = new ProviderRegistry();
    const runtime = new PluginRuntime(hub.dataSource, other, fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugins-other-')), hub.logger);
    await runtime.start(hub.config.databaseUrl!);
    try {
      assert.ok(other.get('echo-hook'), 'loaded from the table at start');
      const [current] = (await hub.call('GET', '/plugins')).body.items;
      await hub.dataSource.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'integrations-hub-plugin_changes' AND pid <> pg_backend_pid()`);
      assert.equal((await hub.call('DELETE', `/plugins/${current.id}`)).status, 200);
      await waitFor(async () => !other.get('echo-hook'), 'the other process to unload it');
      assert.equal((await hub.call('POST', '/plugins', { package: echo.name, version: echo.version })).status, 201);
      await waitFor(async () => other.get('echo-hook'), 'the other process to load it again');
      assert.equal(other.get('echo-hook')!.source, '@ihub-test/provider-echo@1.0.0');
    } finally {
      await runtime.stop();
    }
  });

  it('keeps running when an installed plugin throws at load time, and lists its error', async () => {
    const broken = packFiles({
      'package.json': JSON.stringify({ name: '@ihub-test/provider-broken', version: '0.0.1', main: 'index.js' }),
      'index.js': "throw new Error('broken at load on purpose');",
    });
    const r = await hub.call('POST', '/plugins', { tarball: broken.bytes.toString('base64') });
    assert.equal(r.status, 201);
    assert.equal(r.body.status, 'failed');
    assert.match(r.body.loadError, /broken at load on purpose/);
    const providers = (await hub.call('GET', '/providers')).body;
    assert.ok(providers.loadErrors.some((e: { plugin: string; error: string }) => e.plugin === '@ihub-test/provider-broken@0.0.1' && /on purpose/.test(e.error)));
    assert.ok(providers.items.some((p: { id: string }) => p.id === 'echo-hook'), 'the rest keeps working');
    const del = await hub.call('DELETE', `/plugins/${r.body.id}`);
    assert.equal(del.status, 200);
    assert.ok(!(await hub.call('GET', '/providers')).body.loadErrors.some((e: { plugin: string }) => e.plugin.startsWith('@ihub-test/provider-broken')));
  });

  it('refuses a plugin that would end the process while loading, and keeps serving', async () => {
    const exits = packFiles({
      'package.json': JSON.stringify({ name: '@ihub-test/provider-exits', version: '1.0.0', main: 'index.js' }),
      'index.js': 'process.exit(3);',
    });
    const r = await hub.call('POST', '/plugins', { tarball: exits.bytes.toString('base64') });
    assert.equal(r.status, 422);
    assert.equal(r.body.errors[0].path, 'tarball');
    assert.match(r.body.detail, /ended the process while loading \(exit code 3\)/);
    assert.ok(!(await hub.call('GET', '/plugins')).body.items.some((p: { package: string }) => p.package === '@ihub-test/provider-exits'), 'not recorded');
    assert.equal((await hub.call('GET', '/providers')).status, 200);
  });

  it('refuses a plugin that collides with a built-in id, without touching the built-in', async () => {
    const clash = packFiles({
      'package.json': JSON.stringify({ name: '@ihub-test/provider-clash', version: '1.0.0', main: 'index.js' }),
      'index.js': fs.readFileSync(path.resolve(__dirname, '../../../test/fixtures/plugins/provider-echo/index.js'), 'utf8').replace("id: 'echo-hook'", "id: 'webhook'"),
    });
    const r = await hub.call('POST', '/plugins', { tarball: clash.bytes.toString('base64') });
    assert.equal(r.body.status, 'failed');
    assert.match(r.body.loadError, /provider webhook is already registered/);
    const webhook = (await hub.call('GET', '/providers')).body.items.find((p: { id: string }) => p.id === 'webhook');
    assert.equal(webhook.source, 'builtin');
    await hub.call('DELETE', `/plugins/${r.body.id}`);
    assert.equal((await hub.call('GET', '/providers')).body.items.find((p: { id: string }) => p.id === 'webhook').source, 'builtin');
  });

  it('is off unless PLUGIN_INSTALL_ENABLED=true', async () => {
    const off = await Hub.start('plugin-manager-off', { PLUGIN_REGISTRY_URL: registry.url });
    try {
      const r = await off.call('POST', '/plugins', { tarball: echo.bytes.toString('base64') });
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /PLUGIN_INSTALL_ENABLED=true/);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual((await off.call('GET', '/plugins')).body.items, []);
    } finally {
      await off.close();
    }
  });
});
