import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// A delivery row that is gone (deleted, purged from the log) is not an outage: the workflow ends at once,
// failed with a DeliveryNotFound reason, instead of waking every 30 s forever.
describe('a delivery whose row is gone', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('delivery-gone');
    receiver = await new Receiver().start();
    const res = await hub.call('POST', '/subscriptions', {
      name: 'gone',
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}/hook` },
      retryPolicy: { scheduleMs: [1_500, 1_500, 1_500] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  async function ingest(id: string): Promise<{ id: string; workflowId: string }> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'major' } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const rows: { id: string; workflow_id: string }[] = await hub.dataSource.query('SELECT id, workflow_id FROM deliveries WHERE emission_id = $1', [id]);
    return { id: rows[0].id, workflowId: rows[0].workflow_id };
  }

  /** Waits until the workflow is closed (it must not keep running) and returns its failure. */
  async function failureOf(workflowId: string): Promise<ApplicationFailure> {
    const { client } = await getStack();
    const h = client.workflow.getHandle(workflowId);
    await waitFor(async () => (await h.describe()).status.name !== 'RUNNING', `workflow ${workflowId} to end`, 30_000, 200);
    assert.equal((await h.describe()).status.name, 'FAILED');
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    return err.cause;
  }

  it('ends a new delivery deleted before its first attempt, failed with DeliveryNotFound', async () => {
    await hub.stopWorker();
    let d: { id: string; workflowId: string };
    try {
      d = await ingest('evt-gone-fresh');
      await waitFor(async () => (await hub.dataSource.query('SELECT workflow_started FROM deliveries WHERE id = $1', [d.id]))[0]?.workflow_started, 'the workflow start');
      await hub.dataSource.query('DELETE FROM deliveries WHERE id = $1', [d.id]);
    } finally {
      await hub.startWorker();
    }
    const failure = await failureOf(d.workflowId);
    assert.equal(failure.type, 'DeliveryNotFound');
    assert.match(failure.message, new RegExp(`Delivery ${d.id} does not exist`));
    assert.equal(receiver.at('/hook').length, 0);
  });

  it('ends a retrying delivery purged between attempts, after one more look', async () => {
    receiver.script.push({ status: 503 });
    const d = await ingest('evt-gone-retrying');
    await waitFor(async () => (await hub.call('GET', `/deliveries/${d.id}`)).body.status === 'retrying', 'the delivery to be retrying');
    await hub.dataSource.query('DELETE FROM deliveries WHERE id = $1', [d.id]);
    const failure = await failureOf(d.workflowId);
    assert.equal(failure.type, 'DeliveryNotFound');
    const { client } = await getStack();
    const events = (await client.workflow.getHandle(d.workflowId).fetchHistory()).events ?? [];
    // attempts run as local activities (DESIGN decision 15): one marker each, the only local activities of the run
    const attempts = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    assert.equal(attempts.length, 2, 'the first attempt and the one that found the row gone; no waiting after it');
    assert.equal(receiver.at('/hook').length, 1);
  });
});
