import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { createRecoveryActivities } from '../../activities/recovery';
import { RecoveryStore } from '../../src/deliveries/recoveries';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// The recovery's batch activity over real deliveries, PostgreSQL and Temporal: batches move a cursor through
// the selection, count into the recovery's row, stop at the total, and never pick a delivery twice.
describe('bulk recovery batches', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let subscriptionId: string;

  before(async () => {
    hub = await Hub.start('recover_batches');
    receiver = await new Receiver().start();
    const res = await hub.call('POST', '/subscriptions', {
      name: 'batches',
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}/b` },
      retryPolicy: { scheduleMs: [] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    subscriptionId = res.body.id;
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  it('redelivers the selection in batches, up to the total counted at the request', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    receiver.fallback = () => ({ status: 503 });
    for (let i = 0; i < 7; i++) {
      const r = await hub.call('POST', '/ingest', { event: 'incident.created', id: `evt-batch-${i}`, payload: { incidentId: `b${i}`, title: 'Down', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(r.status, 202);
    }
    const failedIds = async () =>
      (await hub.dataSource.query(`SELECT id FROM deliveries WHERE subscription_id = $1 AND status = 'failed' ORDER BY id`, [subscriptionId])).map((r: { id: string }) => r.id);
    await waitFor(async () => (await failedIds()).length === 7, 'seven failed deliveries', 60_000, 200);
    receiver.fallback = () => ({ status: 200 });

    const store = new RecoveryStore(hub.dataSource);
    const recovery = await store.create({ status: 'failed', since, subscriptionId }, 6);
    assert.equal(recovery.total, 6, 'capped at the maximum');
    const { recoverBatch } = createRecoveryActivities({ recoveries: store, logger: hub.logger, namespace: 'default', taskQueue: hub.config.temporal.taskQueue });
    const env = new MockActivityEnvironment({}, { client: (await getStack()).client });
    const batch = () => env.run(recoverBatch, { recoveryId: recovery.id, size: 4 });

    const ids = await failedIds();
    assert.deepEqual(await batch(), { handled: 4, finished: false });
    assert.deepEqual((await store.get(recovery.id))!.done, 4);
    assert.deepEqual(await batch(), { handled: 6, finished: true }, 'stops at the total');
    assert.deepEqual(await batch(), { handled: 6, finished: true }, 'a further batch does nothing');
    const row = (await store.get(recovery.id))!;
    assert.deepEqual([row.done, row.failed], [6, 0]);

    // the six lowest ids were redelivered once each; the seventh, beyond the total, was left alone
    await waitFor(async () => (await failedIds()).length === 1, 'six redelivered', 60_000, 200);
    assert.deepEqual(await failedIds(), [ids[6]]);
    await waitFor(async () => {
      const rows: { attempts: number; status: string }[] = await hub.dataSource.query('SELECT attempts, status FROM deliveries WHERE id = ANY($1)', [ids.slice(0, 6)]);
      return rows.length === 6 && rows.every((r) => r.attempts === 2 && r.status === 'success');
    }, 'one manual attempt each', 30_000, 200);
  });
});
