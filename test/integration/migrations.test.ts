import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createDataSource, MIGRATIONS } from '../../entities/data-source';
import { openDatabase } from '../../src/database/open';
import { createLogger } from '../../src/logger';
import { getStack } from '../support/stack';
import { OneTargetKey1765431870000 } from '../../entities/migrations/1765431870000-OneTargetKey';
import { boundedTargetKey } from '../../src/targets/key';
import { PayloadOnEmission1765531407000 } from '../../entities/migrations/1765531407000-PayloadOnEmission';

const TABLES = ['api_tokens', 'attempt_marks', 'connections', 'deliveries', 'delivery_attempts', 'emissions', 'event_types', 'external_records', 'live_watchers', 'plugins', 'provider_settings', 'recoveries', 'replays', 'subscriptions', 'target_health', 'target_limits', 'target_outcomes', 'ui_sessions'];

async function tables(ds: DataSource): Promise<string[]> {
  const rows: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

describe('migrations', function () {
  this.timeout(120_000);
  let url: string;

  before(async () => {
    url = await (await getStack()).createDatabase('migrations_test');
  });

  it('apply on an empty database, revert completely and apply again', async () => {
    const ds = await openDatabase(url, createLogger('silent', 'test'));
    try {
      assert.deepEqual(await tables(ds), TABLES);
      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      assert.deepEqual(await tables(ds), []);
      await ds.runMigrations({ transaction: 'each' });
      assert.deepEqual(await tables(ds), TABLES);
    } finally {
      await ds.destroy();
    }
  });

  it('is a no-op when started again on a migrated database', async () => {
    const ds = await openDatabase(url, createLogger('silent', 'test'));
    try {
      assert.equal(await ds.showMigrations(), false);
    } finally {
      await ds.destroy();
    }
  });

  it('enforces one delivery per (emission, subscription)', async () => {
    const ds = createDataSource(url);
    await ds.initialize();
    try {
      await ds.query(`INSERT INTO emissions (id, event, occurred_at, payload) VALUES ('e1', 'incident.created', now(), '{}')`);
      const insert = `INSERT INTO deliveries (id, subscription_id, provider, event, emission_id, payload, status, workflow_id)
                      VALUES ($1, 's1', 'webhook', 'incident.created', 'e1', '{}', 'pending', 'w')`;
      await ds.query(insert, ['d1']);
      await assert.rejects(ds.query(insert, ['d2']), /deliveries_emission_subscription/);
    } finally {
      await ds.destroy();
    }
  });

  it('PayloadOnEmission reverts to rows the previous release can read: each delivery without a copy gets its emission\'s payload back', async () => {
    const ds = createDataSource(url);
    await ds.initialize();
    const runner = ds.createQueryRunner();
    try {
      await ds.query(`INSERT INTO emissions (id, event, occurred_at, payload) VALUES ('e-once', 'incident.created', now(), '{"incidentId":"i-1","n":1}')`);
      await ds.query(`INSERT INTO emissions (id, event, occurred_at, payload, payload_purged_at) VALUES ('e-gone', 'incident.created', now(), '{}', now())`);
      const insert = `INSERT INTO deliveries (id, subscription_id, provider, event, emission_id, payload, status, workflow_id, payload_purged_at)
                      VALUES ($1, $2, 'webhook', 'incident.created', $3, $4, 'success', 'w', $5)`;
      await ds.query(insert, ['d-null', 's1', 'e-once', null, null]);
      await ds.query(insert, ['d-copy', 's2', 'e-once', '{"incidentId":"i-1","n":1}', null]);
      await ds.query(insert, ['d-purged', 's3', 'e-once', null, new Date()]);
      await ds.query(insert, ['d-gone', 's1', 'e-gone', null, null]);
      await new PayloadOnEmission1765531407000().down(runner);
      const rows: { id: string; payload: unknown }[] = await ds.query(`SELECT id, payload FROM deliveries WHERE id LIKE 'd-%' ORDER BY id`);
      assert.deepEqual(rows, [
        { id: 'd-copy', payload: { incidentId: 'i-1', n: 1 } },
        { id: 'd-gone', payload: {} },
        { id: 'd-null', payload: { incidentId: 'i-1', n: 1 } },
        { id: 'd-purged', payload: {} },
      ]);
      await assert.rejects(ds.query(insert, ['d-after', 's4', 'e-once', null, null]), /null value in column "payload"/, 'NOT NULL again');
      await new PayloadOnEmission1765531407000().up(runner);
      await ds.query(insert, ['d-after', 's4', 'e-once', null, null]);
    } finally {
      await ds.query(`DELETE FROM deliveries WHERE id LIKE 'd-%'`);
      await ds.query(`DELETE FROM emissions WHERE id IN ('e-once', 'e-gone')`);
      await runner.release();
      await ds.destroy();
    }
  });

  it('rewrites stored target keys longer than 500 characters to the bounded key the attempts now use', async () => {
    const ds = createDataSource(url);
    await ds.initialize();
    const long = `slack:https://slack.com/api:${'C'.repeat(480)}`;
    const wide = `teams:${'😀'.repeat(505)}`; // 511 characters, more UTF-16 units
    const taken = `jira:${'P'.repeat(505)}`;
    const short = 'https://hooks.example.com';
    try {
      await ds.query(`DELETE FROM target_health`);
      await ds.query(`DELETE FROM target_outcomes`);
      for (const key of [long, wide, taken, short, boundedTargetKey(taken)]) {
        await ds.query(`INSERT INTO target_health (target_key, provider) VALUES ($1, 'x')`, [key]);
        await ds.query(`INSERT INTO target_outcomes (target_key, ok) VALUES ($1, true)`, [key]);
      }
      await ds.query(
        `INSERT INTO subscriptions (id, name, provider, event, config, target_key) VALUES ('s-long', 'n', 'slack', 'incident.created', '{}', $1)`,
        [long],
      );
      const runner = ds.createQueryRunner();
      try {
        await new OneTargetKey1765431870000().up(runner);
      } finally {
        await runner.release();
      }
      const health: { target_key: string }[] = await ds.query(`SELECT target_key FROM target_health ORDER BY target_key`);
      assert.deepEqual(health.map((r) => r.target_key).sort(), [boundedTargetKey(long), boundedTargetKey(taken), short, boundedTargetKey(wide)].sort());
      const outcomes: { target_key: string; n: string }[] = await ds.query(`SELECT target_key, count(*) AS n FROM target_outcomes GROUP BY 1 ORDER BY 1`);
      assert.deepEqual(
        Object.fromEntries(outcomes.map((r) => [r.target_key, Number(r.n)])),
        { [boundedTargetKey(long)]: 1, [boundedTargetKey(taken)]: 2, [short]: 1, [boundedTargetKey(wide)]: 1 },
      );
      const [sub] = await ds.query(`SELECT target_key FROM subscriptions WHERE id = 's-long'`);
      assert.equal(sub.target_key, boundedTargetKey(long));
      assert.notEqual(boundedTargetKey(long), long.slice(0, 500), 'not a plain cut');
    } finally {
      await ds.query(`DELETE FROM subscriptions WHERE id = 's-long'`);
      await ds.destroy();
    }
  });
});
