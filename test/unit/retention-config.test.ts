import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';
import { cutoffOf, purgePlan } from '../../workflows/retention-plan';

const base = { ENCRYPTION_MASTER_KEY: 'k'.repeat(32) };
const DAY = 86_400_000;

describe('retention configuration', () => {
  it('keeps rows and payloads 30 days by default and purges daily', () => {
    const r = loadConfig(base).retention;
    assert.deepEqual(r, { rowsMaxAgeMs: 30 * DAY, payloadsMaxAgeMs: 30 * DAY, batchSize: 1000, batchPauseMs: 20, schedule: '17 3 * * *' });
  });

  it('reads shorter payload retention, the batch settings and an "off" schedule', () => {
    const r = loadConfig({ ...base, RETENTION_DAYS: '90', RETENTION_PAYLOAD_DAYS: '7', RETENTION_BATCH_SIZE: '500', RETENTION_BATCH_PAUSE_MS: '0', RETENTION_SCHEDULE: 'off' }).retention;
    assert.deepEqual(r, { rowsMaxAgeMs: 90 * DAY, payloadsMaxAgeMs: 7 * DAY, batchSize: 500, batchPauseMs: 0, schedule: null });
  });

  it('refuses payloads kept longer than their rows, and a schedule that is not cron', () => {
    for (const [env, variable] of [
      [{ RETENTION_DAYS: '7', RETENTION_PAYLOAD_DAYS: '30' }, 'RETENTION_PAYLOAD_DAYS'],
      [{ RETENTION_SCHEDULE: 'daily' }, 'RETENTION_SCHEDULE'],
      [{ RETENTION_BATCH_SIZE: '0' }, 'RETENTION_BATCH_SIZE'],
    ] as const) {
      assert.throws(() => loadConfig({ ...base, ...env }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.variable === variable));
    }
  });

  it('plans cut-offs from the ages; 0 keeps that kind forever', () => {
    const now = Date.UTC(2026, 11, 2);
    const plan = purgePlan({ rowsMaxAgeMs: 30 * DAY, payloadsMaxAgeMs: 0 }, now);
    assert.deepEqual(plan, { rowsBeforeMs: now - 30 * DAY, payloadsBeforeMs: null });
    assert.equal(cutoffOf(plan, 'deliveries'), now - 30 * DAY);
    assert.equal(cutoffOf(plan, 'emissions'), now - 30 * DAY);
    assert.equal(cutoffOf(plan, 'deliveryPayloads'), null);
    assert.equal(cutoffOf(plan, 'emissionPayloads'), null);
  });
});
