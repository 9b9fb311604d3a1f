import assert from 'node:assert/strict';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';
import { StubActivities, recorded, stubWorker } from '../support/stub-worker';

// A retry asked for while the delivery is being cancelled is refused by the workflow's update validator:
// the API answers 409 with the reason instead of reporting it "woken" and then ignoring it.
describe('a retry the delivery workflow refuses', function () {
  this.timeout(120_000);
  let hub: Hub;

  before(async () => {
    hub = await Hub.start('refused_updates');
    const res = await hub.call('POST', '/subscriptions', {
      name: 'refused',
      provider: 'webhook',
      event: 'incident.created',
      config: { url: 'http://127.0.0.1:9/never' },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await hub?.close();
  });

  it('answers 409 to POST /deliveries/{id}/retry while a cancel is being recorded', async () => {
    const { client, temporal } = await getStack();
    // the delivery's workflow id runs on a worker with stub activities whose cancel can be held open
    let release!: () => void;
    const stubs = new StubActivities([recorded('retrying', 3_600_000)]);
    stubs.holdCancel = new Promise<void>((r) => (release = r));
    const w = await stubWorker(temporal.address, stubs);
    await hub.stopWorker();
    try {
      const ingested = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'evt-refused', payload: { incidentId: 'x', title: 'x', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(ingested.status, 202, JSON.stringify(ingested.body));
      const [row]: { id: string; workflow_id: string }[] = await hub.dataSource.query(`SELECT id, workflow_id FROM deliveries WHERE emission_id = 'evt-refused'`);
      await waitFor(async () => (await hub.dataSource.query('SELECT workflow_started FROM deliveries WHERE id = $1', [row.id]))[0]?.workflow_started, 'the start');
      await client.workflow.getHandle(row.workflow_id).terminate('moved to a stub worker for this test');
      await client.workflow.start('deliveryWorkflowV2', { workflowId: row.workflow_id, taskQueue: w.taskQueue, args: [{ deliveryId: row.id, fresh: true }] });
      await hub.dataSource.query(`UPDATE deliveries SET status = 'retrying' WHERE id = $1`, [row.id]);

      await w.worker.runUntil(async () => {
        try {
          await waitFor(async () => stubs.attempts.length === 1, 'the first attempt');
          const cancelled = await hub.call('POST', `/deliveries/${row.id}/cancel`);
          assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
          await waitFor(async () => stubs.cancelCalls === 1, 'the cancel to be recorded');
          const retry = await hub.call('POST', `/deliveries/${row.id}/retry`);
          assert.equal(retry.status, 409, JSON.stringify(retry.body));
          assert.match(retry.headers.get('content-type') ?? '', /problem\+json/);
          assert.match(retry.body.detail, /being cancelled/);
        } finally {
          // the held activity must end before the worker can shut down
          release();
        }
        assert.equal(await client.workflow.getHandle(row.workflow_id).result(), 'failed');
      });
    } finally {
      await w.close();
      await hub.startWorker();
    }
    assert.equal(stubs.attempts.length, 1, 'no attempt after the cancel');
  });
});
