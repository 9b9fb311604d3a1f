import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

describe('ingest durability and limits', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('durability', { INGEST_RATE_LIMIT_PER_SECOND: '1', INGEST_RATE_LIMIT_BURST: '3' });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  it('starts the workflow of a delivery that was committed but never started (a crash between commit and start)', async () => {
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'r', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/stranded` },
    });
    // what a crash right after the ingest transaction leaves behind: rows, no workflow
    await hub.dataSource.query(
      `INSERT INTO emissions (id, event, occurred_at, payload) VALUES ('evt-stranded', 'incident.created', now(), '{"incidentId":"s","title":"t"}')`,
    );
    await hub.dataSource.query(
      `INSERT INTO deliveries (id, subscription_id, provider, event, emission_id, payload, status, workflow_id, created_at)
       VALUES ('dlv_stranded', $1::text, 'webhook', 'incident.created', 'evt-stranded', '{"incidentId":"s","title":"t"}', 'pending',
               'delivery:evt-stranded:' || $1::text, now() - interval '1 minute')`,
      [sub.body.id],
    );
    assert.equal(await hub.api.reconciler.reconcileOnce(), 1);
    const d = await waitFor(async () => {
      const r = await hub.call('GET', '/deliveries/dlv_stranded');
      return r.body.status === 'success' ? r.body : undefined;
    }, 'the stranded delivery to succeed');
    assert.equal(d.attempts, 1);
    assert.equal(receiver.at('/stranded').length, 1);
    // started means started once: a second pass finds nothing
    assert.equal(await hub.api.reconciler.reconcileOnce(), 0);
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  it('answers 429 with Retry-After when an ingest token is over its rate limit', async () => {
    const post = (i: number) =>
      hub.call('POST', '/ingest', { event: 'maintenance.started', id: `rl-${i}`, payload: { maintenanceId: `m-${i}`, title: 't' } }, INGEST_TOKEN);
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 5; i++) {
      const r = await post(i);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.ok(statuses.slice(0, 3).every((s) => s === 202), statuses.join(','));
    assert.ok(limited, `expected a 429 among ${statuses.join(',')}`);
    assert.equal(limited.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});
