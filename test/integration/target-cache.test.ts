import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { targetLimits, type TargetLimits } from '../../src/targets/rate-limits';
import { openDatabase } from '../../src/database/open';
import { createLogger } from '../../src/logger';
import { TargetLimitStore } from '../../src/targets/limits';
import { QuietCircuits, QuietTargets, quietLimits } from '../../src/targets/quiet';
import { waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// The worker's cache of quiet targets (no limit, closed circuit: issue 22) stays true across processes: a
// limit set or a circuit opened through another connection reaches it by NOTIFY, long before its TTL (60 s
// here, so only the notification can explain a prompt change), and a lost LISTEN connection empties it.
describe('quiet targets: the gate statements are skipped only while nothing gates the target', function () {
  this.timeout(60_000);
  let a: DataSource; // the worker
  let b: DataSource; // another process (the API, another worker)
  let url: string;
  let quiet: QuietTargets;
  const settings = { failureRatio: 0.7, minAttempts: 10, windowMs: 300_000, cooldownMs: 60_000, pauseAfterMs: 432_000_000 };

  before(async () => {
    url = await (await getStack()).createDatabase('target_cache');
    a = await openDatabase(url, createLogger('silent', 'test'));
    b = await openDatabase(url, createLogger('silent', 'test'));
    quiet = new QuietTargets(url, createLogger('silent', 'test'), 60_000);
    await quiet.start();
  });
  after(async () => {
    await quiet?.stop();
    await a?.destroy();
    await b?.destroy();
  });

  it('skips the limit statement for a quiet target and gates it again as soon as another process sets a limit', async () => {
    let statements = 0;
    const inner = targetLimits(a);
    const counted: TargetLimits = { acquire: (k, h) => (statements++, inner.acquire(k, h)), learn: inner.learn };
    const limits = quietLimits(counted, quiet);
    const key = 'https://quiet.example';
    assert.deepEqual(await limits.acquire(key, 1_000), { kind: 'go', waitMs: 0, free: true });
    assert.equal(statements, 1);
    for (let i = 0; i < 5; i++) assert.equal((await limits.acquire(key, 1_000)).kind, 'go');
    assert.equal(statements, 1, 'no statement while the target is quiet');

    await new TargetLimitStore(b).setLimit(key, 2);
    await waitFor(async () => !quiet.isQuiet('target_limits', key), 'the limit to reach the cache', 3_000, 10);
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await limits.acquire(key, 1_000));
    assert.equal(statements, 7, 'every attempt reserves its slot again');
    assert.ok(burst.some((d) => d.kind === 'throttled'), `2/s holds some of 6 back: ${JSON.stringify(burst)}`);
    assert.ok(burst.every((d) => !(d.kind === 'go' && d.free)), 'none goes as free');

    // a learned block (a 429 seen by another worker) too
    const other = 'https://learned.example';
    await limits.acquire(other, 1_000);
    assert.ok(quiet.isQuiet('target_limits', other));
    await targetLimits(b).learn(other, 5_000, 429);
    await waitFor(async () => !quiet.isQuiet('target_limits', other), 'the learned block to reach the cache', 3_000, 10);
    assert.equal((await limits.acquire(other, 1_000)).kind, 'throttled');
  });

  it('skips the circuit statement while closed and holds attempts once another process opens it', async () => {
    const circuits = new QuietCircuits(a, settings, quiet);
    const key = 'https://circuit.example';
    assert.deepEqual(await circuits.gate(key), { pass: true, probe: false });
    assert.ok(quiet.isQuiet('target_health', key));
    await b.query(
      `INSERT INTO target_health (target_key, provider, state, opened_at, probe_at) VALUES ($1, 'webhook', 'open', now(), now() + interval '1 minute')`,
      [key],
    );
    await waitFor(async () => !quiet.isQuiet('target_health', key), 'the opened circuit to reach the cache', 3_000, 10);
    const gate = await circuits.gate(key);
    assert.equal(gate.pass, false);
  });

  it('caches nothing while its LISTEN connection is down, and listens again by itself', async () => {
    const limits = quietLimits(targetLimits(a), quiet);
    const key = 'https://reconnect.example';
    await limits.acquire(key, 1_000);
    assert.ok(quiet.isQuiet('target_limits', key));
    await b.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'integrations-hub-target-cache' AND datname = current_database()`);
    await waitFor(async () => !quiet.isQuiet('target_limits', key), 'the cache to empty when its connection is gone', 3_000, 10);
    // back: a quiet target is remembered again, and a change still reaches it
    await waitFor(async () => {
      await limits.acquire(key, 1_000);
      return quiet.isQuiet('target_limits', key);
    }, 'the cache to listen again', 10_000, 100);
    await new TargetLimitStore(b).setLimit(key, 1);
    await waitFor(async () => !quiet.isQuiet('target_limits', key), 'a change after the reconnect', 3_000, 10);
  });
});
