import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// deliveryWorkflowV2 logs each attempt from inside its one activity; these pin down what that must keep:
// a logged attempt is never overwritten, a finished delivery is never sent twice, and runs of the first
// workflow (three activities per attempt) still finish on today's worker.
describe('delivery workflow versions and the exactness of the log', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('workflow-versions');
    receiver = await new Receiver().start();
    const res = await hub.call('POST', '/subscriptions', {
      name: 'versions',
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}/hook` },
      retryPolicy: { scheduleMs: [200, 200] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.script.length = 0;
  });

  async function ingest(id: string): Promise<{ id: string; workflowId: string }> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major' } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const rows: { id: string; workflow_id: string }[] = await hub.dataSource.query('SELECT id, workflow_id FROM deliveries WHERE emission_id = $1', [id]);
    return { id: rows[0].id, workflowId: rows[0].workflow_id };
  }

  async function settled(deliveryId: string, status = 'success') {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${deliveryId} to be ${status}`, 30_000);
  }


  it('delivers with one local activity and one workflow task per successful attempt (DESIGN decision 15)', async () => {
    const d = await ingest('evt-v2-one');
    await settled(d.id);
    const { client } = await getStack();
    // the local activity writes the log row inside the workflow task; its marker is in the history once that task
    // completes, which can be just after the row says success: wait for the run to close
    const handle = client.workflow.getHandle(d.workflowId);
    await handle.result();
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const types = events.map((e) => temporal.api.enums.v1.EventType[e.eventType!]);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
    assert.deepEqual(scheduled, [], `no activity task: ${types.join(', ')}`);
    const localActivities = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    assert.equal(localActivities.length, 1, `the attempt, as one local activity: ${types.join(', ')}`);
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1, `one workflow task: ${types.join(', ')}`);
    const started = history.events?.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
    assert.equal(started?.workflowType?.name, 'deliveryWorkflowV3');
    // V3 takes V2's patched paths as its code: no patch marker, no TemporalChangeVersion upsert (DESIGN decision 18)
    assert.deepEqual(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'), [], `no patch marker: ${types.join(', ')}`);
    assert.equal(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length, 1, `one upsert, the status: ${types.join(', ')}`);
    assert.equal(events.length, 7, `7 events: ${types.join(', ')}`);
    assert.equal(receiver.at('/hook').length, 1);
    console.log(`      history of a first-attempt success (${types.length} events): ${types.map((t) => t.replace('EVENT_TYPE_', '')).join(', ')}`);
  });

  it('keeps a logged attempt: a second record of the same attempt (a lost activity, a retry) changes nothing', async () => {
    const d = await ingest('evt-v2-exact');
    const before = await settled(d.id);
    const acts = hub.activities();
    const lost = await acts.recordLostAttempt({ deliveryId: d.id, attempt: 1, trigger: 'scheduled', redelivery: false, budgetBase: 0 });
    assert.deepEqual(lost, { status: 'success', delayMs: 0 });
    const again = await acts.recordAttempt({
      deliveryId: d.id,
      attempt: 1,
      trigger: 'scheduled',
      outcome: 'retryable',
      status: 'retrying',
      startedAtMs: Date.now(),
      durationMs: 5,
      error: 'a different story',
      nextRetryAtMs: Date.now() + 60_000,
    });
    assert.deepEqual(again, { status: 'success', delayMs: 0 });
    const after = await hub.call('GET', `/deliveries/${d.id}`);
    assert.equal(after.body.status, 'success');
    assert.deepEqual(after.body.attemptLog, before.attemptLog);
  });

  it('logs a lost attempt as retrying within the budget, and as failed once the budget is spent', async () => {
    const d = await ingest('evt-v2-lost');
    await settled(d.id);
    const acts = hub.activities();
    // attempt 2 of a budget of 3 (two scheduled retries): retrying; attempt 3: failed
    const second = await acts.recordLostAttempt({ deliveryId: d.id, attempt: 2, trigger: 'manual', redelivery: true, budgetBase: 0 });
    assert.equal(second.status, 'retrying');
    assert.ok(second.delayMs > 0 && second.delayMs <= 240, `delay ${second.delayMs}`);
    const third = await acts.recordLostAttempt({ deliveryId: d.id, attempt: 3, trigger: 'scheduled', redelivery: true, budgetBase: 0 });
    assert.deepEqual(third, { status: 'failed', delayMs: 0 });
    const after = await hub.call('GET', `/deliveries/${d.id}`);
    assert.deepEqual(after.body.attemptLog.map((a: { errorCode?: string }) => a.errorCode ?? 'none'), ['none', 'attempt_lost', 'attempt_lost']);
    assert.equal(after.body.status, 'failed');
  });

  it('sends nothing when a finished delivery is started fresh again (e.g. after Temporal forgot its first run)', async () => {
    const d = await ingest('evt-v2-closed');
    await settled(d.id);
    assert.equal(receiver.at('/hook').length, 1);
    const { client } = await getStack();
    const result = await client.workflow.execute('deliveryWorkflowV2', {
      workflowId: `${d.workflowId}:again`,
      taskQueue: hub.config.temporal.taskQueue,
      args: [{ deliveryId: d.id, fresh: true }],
    });
    assert.equal(result, 'success');
    assert.equal(receiver.at('/hook').length, 1, 'not sent twice');
    const after = await hub.call('GET', `/deliveries/${d.id}`);
    assert.equal(after.body.attempts, 1);
  });

  it('still runs the first workflow (three activities per attempt) for runs started before the upgrade', async () => {
    await hub.stopWorker();
    let d: { id: string; workflowId: string };
    const { client } = await getStack();
    try {
      d = await ingest('evt-v1');
      // stand in for a run started by the previous version: the V2 run goes, a V1 run takes the delivery
      await waitFor(async () => (await hub.dataSource.query('SELECT workflow_started FROM deliveries WHERE id = $1', [d.id]))[0].workflow_started, 'the V2 start');
      await client.workflow.getHandle(d.workflowId).terminate('replaced by a V1 run for this test');
      receiver.script.push({ status: 503 });
      await client.workflow.start('deliveryWorkflow', {
        workflowId: `${d.workflowId}:v1`,
        taskQueue: hub.config.temporal.taskQueue,
        args: [{ deliveryId: d.id }],
      });
    } finally {
      await hub.startWorker();
    }
    const done = await settled(d.id);
    assert.equal(await client.workflow.getHandle(`${d.workflowId}:v1`).result(), 'success');
    assert.deepEqual(done.attemptLog.map((a: { outcome: string }) => a.outcome), ['retryable', 'success']);
    assert.equal(receiver.at('/hook').length, 2);
    const history = await client.workflow.getHandle(`${d.workflowId}:v1`).fetchHistory();
    const types = new Set((history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean));
    assert.deepEqual([...types].sort(), ['attemptDelivery', 'loadDeliveryPlan', 'recordAttempt']);
  });
});
