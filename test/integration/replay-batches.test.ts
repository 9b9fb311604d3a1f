import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { createReplayActivities } from '../../activities/replay';
import { ReplayStore } from '../../src/deliveries/replays';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// The replay's batch activity over real emissions, PostgreSQL and Temporal: batches move a cursor through the
// range, a batch lost after its inserts is repaired by the next (its workflows are started, nothing is sent
// twice), and a subscription switched off meanwhile stops the replay.
describe('replay batches', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let subscriptionId: string;

  before(async () => {
    hub = await Hub.start('replay_batches');
    receiver = await new Receiver().start();
    const res = await hub.call('POST', '/subscriptions', {
      name: 'batches', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/rb` }, enabled: false,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    subscriptionId = res.body.id;
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  it('walks the range in batches, repairs a lost batch, and stops when the subscription is switched off', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 5; i++) {
      const r = await hub.call('POST', '/ingest', { event: 'incident.created', id: `evt-rb-${i}`, payload: { incidentId: `rb${i}`, title: 'Down', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(r.status, 202);
    }
    assert.equal((await hub.call('PATCH', `/subscriptions/${subscriptionId}`, { enabled: true })).status, 200);
    const store = new ReplayStore(hub.dataSource);
    const replay = await store.create(subscriptionId, since);
    assert.equal(replay.total, 5);
    const { replayBatch } = createReplayActivities({ replays: store, logger: hub.logger, namespace: 'default', taskQueue: hub.config.temporal.taskQueue });
    const env = new MockActivityEnvironment({}, { client: (await getStack()).client });
    const batch = () => env.run(replayBatch, { replayId: replay.id, size: 2 });
    const counts = async () => {
      const r = (await store.get(replay.id))!;
      return [r.delivered, r.existing];
    };

    assert.deepEqual(await batch(), { finished: false });
    assert.deepEqual(await counts(), [2, 0]);

    // a batch that inserted its deliveries and was lost before it started their workflows or counted them
    const lost = await store.nextEmissions((await store.position(replay.id))!, 2);
    assert.deepEqual(lost, ['evt-rb-2', 'evt-rb-3']);
    assert.equal((await store.insertDeliveries(subscriptionId, lost)).inserted, 2);
    assert.deepEqual(await batch(), { finished: false }, 'the retried batch');
    assert.deepEqual(await counts(), [2, 2], 'its deliveries were already there');
    const unstarted: unknown[] = await hub.dataSource.query('SELECT id FROM deliveries WHERE subscription_id = $1 AND NOT workflow_started', [subscriptionId]);
    assert.deepEqual(unstarted, [], 'but their workflows were started');

    await hub.call('PATCH', `/subscriptions/${subscriptionId}`, { enabled: false });
    await assert.rejects(batch(), (err: Error & { type?: string; nonRetryable?: boolean }) => err.type === 'SubscriptionInactive' && err.nonRetryable === true);
    assert.deepEqual(await counts(), [2, 2], 'nothing happened while it was off');
    await hub.call('PATCH', `/subscriptions/${subscriptionId}`, { enabled: true });
    assert.deepEqual(await batch(), { finished: true });
    assert.deepEqual(await counts(), [3, 2]);

    await waitFor(async () => {
      const rows: { status: string }[] = await hub.dataSource.query('SELECT status FROM deliveries WHERE subscription_id = $1', [subscriptionId]);
      return rows.length === 5 && rows.every((r) => r.status === 'success');
    }, 'five deliveries to succeed', 60_000, 100);
    const per = new Map<string, number>();
    for (const r of receiver.at('/rb')) {
      const inc = /rb\d/.exec(r.body)?.[0] ?? '?';
      per.set(inc, (per.get(inc) ?? 0) + 1);
    }
    assert.deepEqual([...per.entries()].sort(), [['rb0', 1], ['rb1', 1], ['rb2', 1], ['rb3', 1], ['rb4', 1]]);
  });
});
