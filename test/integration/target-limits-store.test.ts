import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { SLOT_SPACING, targetLimits, type GateDecision } from '../../src/targets/rate-limits';
import { openDatabase } from '../../src/database/open';
import { createLogger } from '../../src/logger';
import { TargetLimitStore } from '../../src/targets/limits';
import { getStack } from '../support/stack';

describe('rate limits per destination: the shared PostgreSQL state', function () {
  this.timeout(120_000);
  // two pools stand for two worker processes
  let a: DataSource;
  let b: DataSource;

  before(async () => {
    const url = await (await getStack()).createDatabase('target_limits_store');
    a = await openDatabase(url, createLogger('silent', 'test'));
    b = await openDatabase(url, createLogger('silent', 'test'));
  });
  after(async () => {
    await a?.destroy();
    await b?.destroy();
  });

  it('reserves slots 1.1/N s apart for concurrent callers in two processes, and sends the rest back to wait', async () => {
    const key = 'https://shared.example';
    await new TargetLimitStore(a).setLimit(key, 10);
    const limits = [targetLimits(a), targetLimits(b)];
    const asked = Date.now();
    const decisions: GateDecision[] = await Promise.all(Array.from({ length: 30 }, (_, i) => limits[i % 2].acquire(key, 1_000)));
    const granted = decisions.filter((d) => d.kind === 'go').map((d) => d.waitMs).sort((x, y) => x - y);
    const held = decisions.filter((d) => d.kind === 'throttled');
    const spacing = (1000 * SLOT_SPACING) / 10;
    const elapsed = Date.now() - asked; // the callers' reservations were made within this time
    // a hold of 1 s at 10/s fits 10 slots (0, 110, ..., 990 ms) at once, a few more as time passes while the
    // callers queue on the row lock; the others are told to wait
    assert.ok(granted.length >= 10 && granted.length <= 10 + Math.ceil(elapsed / spacing), `granted ${granted.length} in ${elapsed} ms`);
    assert.equal(held.length, 30 - granted.length);
    for (let i = 1; i < granted.length; i++) {
      assert.ok(granted[i] - granted[i - 1] >= spacing - elapsed, `slots ${granted[i - 1]} and ${granted[i]} too close`);
    }
    const slotRows: { next_ms: number }[] = await a.query(
      `SELECT (extract(epoch FROM next_slot_at - clock_timestamp()) * 1000)::float8 AS next_ms FROM target_limits WHERE target_key = $1`,
      [key],
    );
    // the next free slot is one spacing per grant after the first, whichever pool made each reservation
    assert.ok(slotRows[0].next_ms > granted.length * spacing - (Date.now() - asked) - 5, `next slot in ${slotRows[0].next_ms} ms`);
    for (const h of held) assert.ok(h.kind === 'throttled' && h.reason === 'limit' && h.waitMs >= 50);
  });

  it('a learned block holds every caller until it passes, and a later, shorter answer does not shorten it', async () => {
    const key = 'https://learned.example';
    const [la, lb] = [targetLimits(a), targetLimits(b)];
    assert.deepEqual(await lb.acquire(key, 1_000), { kind: 'go', waitMs: 0, free: true });
    await la.learn(key, 2_000, 429);
    await lb.learn(key, 100, 429);
    const d = await lb.acquire(key, 1_000);
    assert.equal(d.kind, 'throttled');
    assert.ok(d.kind === 'throttled' && d.reason === 'learned' && d.waitMs > 1_500 && d.waitMs <= 2_000, JSON.stringify(d));
    const view = await new TargetLimitStore(b).get(key);
    assert.equal(view?.learnedStatus, 429);
    assert.equal(view?.requestsPerSecond, null);
  });
});
