import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createDataSource, MIGRATIONS } from '../../entities/data-source';
import { openDatabase } from '../../src/db';
import { createLogger } from '../../src/logger';
import { getStack } from '../support/stack';

const TABLES = ['api_tokens', 'connections', 'deliveries', 'delivery_attempts', 'emissions', 'event_types', 'external_records', 'plugins', 'provider_settings', 'recoveries', 'replays', 'subscriptions', 'target_health', 'target_limits', 'target_outcomes', 'ui_sessions'];

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
});
