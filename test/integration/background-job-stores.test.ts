import assert from 'node:assert/strict';
import { claimFollowUp } from '../../src/deliveries/follow-ups';
import { RecoveryStore } from '../../src/deliveries/recoveries';
import { ReplayStore } from '../../src/deliveries/replays';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

// Statements that answer "did this UPDATE change a row?" (issue 18): TypeORM answers a bare UPDATE ... RETURNING
// with [rows, count], an array two long whether or not a row changed, so each is checked on real PostgreSQL
// both ways: the first caller changes the row (true), a second with the same expectation changes nothing (false).
describe('store statements that report whether their UPDATE changed a row', function () {
  this.timeout(120_000);
  let hub: Hub;
  let subscriptionId: string;

  before(async () => {
    hub = await Hub.start('job_stores');
    // no worker: the deliveries ingested here stay pending
    await hub.stopWorker();
    const sub = await hub.call('POST', '/subscriptions', { name: 'stores', provider: 'webhook', event: 'incident.created', config: { url: 'http://127.0.0.1:9/x' } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    subscriptionId = sub.body.id;
  });
  after(async () => {
    await hub?.close();
  });

  it('RecoveryStore.advance counts a batch once: a second advance from the same cursor changes nothing', async () => {
    const store = new RecoveryStore(hub.dataSource);
    const r = await store.create({ status: 'failed', since: new Date(Date.now() - 60_000).toISOString() }, 100);
    assert.equal(await store.advance(r.id, null, 'dlv_b', 3, 1), true);
    assert.equal(await store.advance(r.id, null, 'dlv_b', 3, 1), false, 'the batch was already counted');
    assert.equal(await store.advance(r.id, 'dlv_a', 'dlv_c', 3, 1), false, 'the cursor is not at dlv_a');
    let row = (await store.get(r.id))!;
    assert.deepEqual([row.done, row.failed], [3, 1]);
    assert.equal(await store.advance(r.id, 'dlv_b', 'dlv_c', 2, 0), true);
    await store.addCounts(r.id, 1, 1);
    row = (await store.get(r.id))!;
    assert.deepEqual([row.done, row.failed], [6, 2]);
    assert.equal((await store.position(r.id))!.cursor, 'dlv_c');
  });

  it('ReplayStore.advance counts a batch once: a second advance from the same cursor changes nothing', async () => {
    const store = new ReplayStore(hub.dataSource);
    const r = await store.create(subscriptionId, new Date(Date.now() - 60_000).toISOString());
    assert.equal(await store.advance(r.id, null, 'em-2', 2, 1), true);
    assert.equal(await store.advance(r.id, null, 'em-2', 2, 1), false, 'the batch was already counted');
    const row = (await store.get(r.id))!;
    assert.deepEqual([row.delivered, row.existing], [2, 1]);
  });

  it('claimFollowUp: of two pending deliveries taking over a failed creator’s claim at once, one creates, the other waits for it', async () => {
    const takers: string[] = [];
    for (const n of [1, 2]) {
      const r = await hub.call('POST', '/ingest', { event: 'incident.created', id: `evt-stores-${n}`, payload: { incidentId: 'stores-1', title: 'Down', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      takers.push(r.body.deliveries[0].id);
    }
    const key = { provider: 'jira', targetKey: 'jira:https://jira.invalid:OPS', subject: 'incident:stores-1' };
    // the first creator's delivery is gone (no row): its claim may be taken over
    const [{ id }] = await hub.dataSource.query(
      `INSERT INTO external_records (provider, target_key, subject, creating_delivery_id) VALUES ($1, $2, $3, 'dlv_gone') RETURNING id`,
      [key.provider, key.targetKey, key.subject],
    );
    // hold the record's row so both takers read the old claim and queue on their UPDATE, then let them go
    const runner = hub.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      await runner.query('SELECT id FROM external_records WHERE id = $1 FOR UPDATE', [id]);
      const claims = takers.map((d) => claimFollowUp(hub.dataSource, key, d));
      await waitFor(async () => {
        const [{ n }] = await hub.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE external_records%'`,
        );
        return n === 2;
      }, 'both takers waiting on the row', 20_000);
      await runner.commitTransaction();
      const roles = await Promise.all(claims);
      const [{ creating_delivery_id: creator }] = await hub.dataSource.query('SELECT creating_delivery_id FROM external_records WHERE id = $1', [id]);
      assert.ok(takers.includes(creator), creator);
      const byTaker = Object.fromEntries(takers.map((t, i) => [t, roles[i]]));
      const other = takers.find((t) => t !== creator)!;
      assert.deepEqual(byTaker[creator], { role: 'creator', recordId: String(id) });
      assert.deepEqual(byTaker[other], { role: 'wait', creatingDeliveryId: creator }, 'the loser waits for the pending winner');
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
