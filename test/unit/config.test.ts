import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';

const base = { ENCRYPTION_MASTER_KEY: 'a-master-key-of-enough-length' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => p.variable);
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('applies defaults when only the master key is set', () => {
    const c = loadConfig(base);
    assert.equal(c.port, 3000);
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.taskQueue, 'integrations-hub');
    assert.equal(c.ingestMaxBodyBytes, 256 * 1024);
    assert.equal(c.databaseUrl, undefined);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.temporal));
  });

  it('parses every variable into typed fields', () => {
    const c = loadConfig({
      ...base,
      DATABASE_URL: 'postgres://u:p@db:5432/hub',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_TASK_QUEUE: 'q',
      PORT: '8080',
      ENCRYPTION_PREVIOUS_KEYS: 'old-key-number-one-xx, old-key-number-two-xx',
      ADMIN_TOKEN: 'x'.repeat(20),
      INGEST_TOKEN: 'y'.repeat(20),
      LOG_LEVEL: 'debug',
      OUTBOUND_ALLOWED_NETWORKS: '10.0.0.0/8,hooks.internal',
    });
    assert.equal(c.port, 8080);
    assert.equal(c.temporal.address, 'temporal:7233');
    assert.deepEqual(c.encryption.previousKeys, ['old-key-number-one-xx', 'old-key-number-two-xx']);
    assert.deepEqual(c.outbound.allowedNetworks, ['10.0.0.0/8', 'hooks.internal']);
    assert.equal(c.logLevel, 'debug');
  });

  it('runs shell commands as nobody with process and memory limits by default, and reads their settings', () => {
    assert.deepEqual({ ...loadConfig(base).shell }, { runAsUser: 'nobody', maxProcesses: 64, maxMemoryBytes: 1024 * 1024 * 1024 });
    const c = loadConfig({ ...base, SHELL_RUN_AS_USER: '1000:1000', SHELL_MAX_PROCESSES: '10', SHELL_MAX_MEMORY_MB: '256' });
    assert.deepEqual({ ...c.shell }, { runAsUser: '1000:1000', maxProcesses: 10, maxMemoryBytes: 256 * 1024 * 1024 });
    assert.deepEqual(problemsOf({ ...base, SHELL_RUN_AS_USER: 'no body' }), ['SHELL_RUN_AS_USER']);
  });

  it("collects the server's secrets for masking: keys, tokens, the database password, secret-named variables", () => {
    const c = loadConfig({
      ...base, ADMIN_TOKEN: 'admin-token-0123456789', DATABASE_URL: 'postgres://hub:db%40password-123@db:5432/hub',
      SMTP_RELAY_PASSWORD: 'relay-password-42', TEMPORAL_UI_URL: 'http://temporal:8233', SHORT_TOKEN: 'abc',
    });
    for (const s of [base.ENCRYPTION_MASTER_KEY, 'admin-token-0123456789', 'db@password-123', 'relay-password-42']) assert.ok(c.serverSecrets.includes(s), s);
    assert.ok(!c.serverSecrets.includes('http://temporal:8233') && !c.serverSecrets.includes('abc'));
  });

  it('keeps plugin installs off by default and reads their settings', () => {
    assert.deepEqual({ ...loadConfig(base).pluginInstall }, {
      enabled: false, allowedScopes: [], registryUrl: 'https://registry.npmjs.org', maxTarballBytes: 10 * 1024 * 1024, maxUnpackedBytes: 100 * 1024 * 1024,
    });
    const c = loadConfig({
      ...base, PLUGIN_INSTALL_ENABLED: 'true', PLUGIN_ALLOWED_SCOPES: '@acme, @integrations-hub', PLUGIN_REGISTRY_URL: 'http://127.0.0.1:4873/',
      PLUGIN_MAX_UNPACKED_BYTES: '2048',
    });
    assert.deepEqual({ ...c.pluginInstall }, {
      enabled: true, allowedScopes: ['@acme', '@integrations-hub'], registryUrl: 'http://127.0.0.1:4873', maxTarballBytes: 10 * 1024 * 1024, maxUnpackedBytes: 2048,
    });
    assert.deepEqual(problemsOf({ ...base, PLUGIN_ALLOWED_SCOPES: 'acme' }), ['PLUGIN_ALLOWED_SCOPES']);
    assert.deepEqual(problemsOf({ ...base, PLUGIN_REGISTRY_URL: 'ftp://x' }), ['PLUGIN_REGISTRY_URL']);
    assert.deepEqual(problemsOf({ ...base, PLUGIN_INSTALL_ENABLED: 'yes' }), ['PLUGIN_INSTALL_ENABLED']);
  });

  it('runs plugin hosts as nobody with bounded memory, deadlines and crashes by default, and reads their settings', () => {
    assert.deepEqual({ ...loadConfig(base).pluginHost }, { runAsUser: 'nobody', maxMemoryMb: 256, callTimeoutMs: 30_000, maxCrashes: 3, crashWindowMs: 600_000 });
    const c = loadConfig({
      ...base, PLUGIN_RUN_AS_USER: '1000:1000', PLUGIN_MAX_MEMORY_MB: '64', PLUGIN_CALL_TIMEOUT_MS: '2000', PLUGIN_MAX_CRASHES: '5', PLUGIN_CRASH_WINDOW_S: '60',
    });
    assert.deepEqual({ ...c.pluginHost }, { runAsUser: '1000:1000', maxMemoryMb: 64, callTimeoutMs: 2000, maxCrashes: 5, crashWindowMs: 60_000 });
    assert.deepEqual(problemsOf({ ...base, PLUGIN_RUN_AS_USER: 'a b' }), ['PLUGIN_RUN_AS_USER']);
    assert.deepEqual(problemsOf({ ...base, PLUGIN_MAX_MEMORY_MB: '8' }), ['PLUGIN_MAX_MEMORY_MB']);
    assert.deepEqual(problemsOf({ ...base, PLUGIN_CALL_TIMEOUT_MS: 'soon' }), ['PLUGIN_CALL_TIMEOUT_MS']);
  });

  it('serves no worker metrics and exports no traces unless their variables are set', () => {
    const off = loadConfig(base);
    assert.equal(off.workerMetricsPort, undefined);
    assert.equal(off.otlpEndpoint, undefined);
    const on = loadConfig({ ...base, WORKER_METRICS_PORT: '9464', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    assert.equal(on.workerMetricsPort, 9464);
    assert.equal(on.otlpEndpoint, 'http://collector:4318');
    assert.deepEqual(problemsOf({ ...base, WORKER_METRICS_PORT: 'metrics', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).sort(), [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'WORKER_METRICS_PORT',
    ]);
    assert.deepEqual(problemsOf({ ...base, WORKER_METRICS_PORT: '70000' }), ['WORKER_METRICS_PORT']);
  });

  it('runs the delivery engine at nice 10 by default, reads DELIVERY_NICE, and names a value out of 0-19', () => {
    assert.equal(loadConfig(base).deliveryNice, 10);
    assert.equal(loadConfig({ ...base, DELIVERY_NICE: '0' }).deliveryNice, 0);
    assert.equal(loadConfig({ ...base, DELIVERY_NICE: '19' }).deliveryNice, 19);
    for (const bad of ['20', '-1', '2.5', 'low']) assert.deepEqual(problemsOf({ ...base, DELIVERY_NICE: bad }), ['DELIVERY_NICE'], bad);
  });

  it('names the missing ENCRYPTION_MASTER_KEY', () => {
    assert.deepEqual(problemsOf({}), ['ENCRYPTION_MASTER_KEY']);
  });

  it('names every wrong variable at once', () => {
    const bad = problemsOf({ ...base, PORT: 'eighty', DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'no-port', LOG_LEVEL: 'loud', ADMIN_TOKEN: 'short' });
    assert.deepEqual(bad.sort(), ['ADMIN_TOKEN', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'TEMPORAL_ADDRESS']);
  });

  it('never echoes a secret value in the error message', () => {
    try {
      loadConfig({ ENCRYPTION_MASTER_KEY: 'tooshort-secret' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /ENCRYPTION_MASTER_KEY: must be at least 16 characters/);
      assert.doesNotMatch(err.message, /tooshort-secret/);
    }
  });
});
