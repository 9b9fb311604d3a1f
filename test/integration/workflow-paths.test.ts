import { WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { waitFor } from '../support/hub';
import { getStack } from '../support/stack';
import { StubActivities, recorded, stubWorker } from '../support/stub-worker';
import { cancelUpdate, laneTurnSignal, redeliverUpdate, type DeliveryWorkflowInput } from '../../workflows/types';

// The delivery workflows' own paths (retry, redeliver, cancel, a row that is gone, refused updates) against
// the real Temporal dev server, with hand-written activities on a fresh task queue per test.
describe('delivery workflow paths with stub activities', function () {
  this.timeout(60_000);
  let client: Client;
  let address: string;

  before(async () => {
    const stack = await getStack();
    client = stack.client;
    address = stack.temporal.address;
  });

  async function run<T>(stubs: StubActivities, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const w = await stubWorker(address, stubs);
    try {
      return await w.worker.runUntil(body(w.taskQueue));
    } finally {
      await w.close();
    }
  }

  function start(taskQueue: string, id: string, input: DeliveryWorkflowInput, workflow = 'deliveryWorkflowV3') {
    return client.workflow.start(workflow, { workflowId: `${id}-${taskQueue}`, taskQueue, args: [input] });
  }

  async function historyEvents(workflowId: string) {
    return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  }

  it('retries on the schedule the attempt activity logged and ends with its success', async () => {
    const stubs = new StubActivities([recorded('retrying', 50), recorded('retrying', 50), recorded('success')]);
    const result = await run(stubs, async (tq) => (await start(tq, 'retry', { deliveryId: 'd-retry', fresh: true })).result());
    assert.equal(result, 'success');
    assert.deepEqual(stubs.attempts.map((a) => [a.attempt, a.trigger]), [[1, 'scheduled'], [2, 'scheduled'], [3, 'scheduled']]);
  });

  it('deliveryWorkflowV2 runs started with quietSuccess (replay only) write no status upsert for a first-attempt success, and every status after a retry', async () => {
    const upserts = async (workflowId: string) =>
      (await historyEvents(workflowId))
        .map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.HubDeliveryStatus?.data)
        .filter((data) => data)
        .map((data) => Buffer.from(data!).toString());
    let ids: string[] = [];
    const stubs = new StubActivities([recorded('success'), recorded('success'), recorded('retrying', 50), recorded('success')]);
    await run(stubs, async (tq) => {
      ids = ['quiet', 'loud', 'quiet-retry'].map((n) => `${n}-${tq}`);
      // one after the other, so each takes the next scripted report
      assert.equal(await (await start(tq, 'quiet', { deliveryId: 'd-quiet', fresh: true, quietSuccess: true }, 'deliveryWorkflowV2')).result(), 'success');
      assert.equal(await (await start(tq, 'loud', { deliveryId: 'd-loud', fresh: true }, 'deliveryWorkflowV2')).result(), 'success');
      assert.equal(await (await start(tq, 'quiet-retry', { deliveryId: 'd-quiet-retry', fresh: true, quietSuccess: true }, 'deliveryWorkflowV2')).result(), 'success');
    });
    assert.deepEqual(await upserts(ids[0]), [], 'the happy path: no upsert');
    assert.deepEqual(await upserts(ids[1]), ['"success"'], 'a run started without quietSuccess (as recorded histories were) upserts as before');
    assert.deepEqual(await upserts(ids[2]), ['"retrying"', '"success"'], 'off the happy path every status is shown');
  });

  it('ends failed when the attempt activity logged the last attempt as failed', async () => {
    const stubs = new StubActivities([recorded('retrying', 50), recorded('failed')]);
    const result = await run(stubs, async (tq) => (await start(tq, 'fail', { deliveryId: 'd-fail', fresh: true })).result());
    assert.equal(result, 'failed');
    assert.equal(stubs.attempts.length, 2);
  });

  it('a redeliver cuts a long retry wait short and the next attempt is manual', async () => {
    const stubs = new StubActivities([recorded('retrying', 3_600_000), recorded('success')]);
    const result = await run(stubs, async (tq) => {
      const h = await start(tq, 'wake', { deliveryId: 'd-wake', fresh: true });
      await waitFor(async () => stubs.attempts.length === 1, 'the first attempt');
      assert.deepEqual(await h.executeUpdate(redeliverUpdate), { accepted: true });
      return h.result();
    });
    assert.equal(result, 'success');
    assert.deepEqual(stubs.attempts.map((a) => a.trigger), ['scheduled', 'manual']);
  });

  it('a delivery waiting in its lane makes no attempt until the one ahead signals its end', async () => {
    const stubs = new StubActivities([{ kind: 'waiting', forDeliveryId: 'd-ahead' }, recorded('success')]);
    const result = await run(stubs, async (tq) => {
      const h = await start(tq, 'lane', { deliveryId: 'd-lane', fresh: true });
      await waitFor(async () => stubs.attempts.length === 1, 'the look at the lane');
      const signalledAt = Date.now();
      await h.signal(laneTurnSignal);
      const r = await h.result();
      // the signal ends the wait at once, well before the first re-check (5 s)
      assert.ok(Date.now() - signalledAt < 4_000, `woken by the signal after ${Date.now() - signalledAt} ms`);
      return r;
    });
    assert.equal(result, 'success');
    // the wait was not an attempt: the next call is attempt 1 again, scheduled
    assert.deepEqual(stubs.attempts.map((a) => [a.attempt, a.trigger]), [[1, 'scheduled'], [1, 'scheduled']]);
  });

  it('a delivery waiting in its lane looks again by itself when no signal comes', async () => {
    const stubs = new StubActivities([{ kind: 'waiting', forDeliveryId: 'd-ahead' }, recorded('success')]);
    const result = await run(stubs, async (tq) => (await start(tq, 'lane-recheck', { deliveryId: 'd-lane-recheck', fresh: true })).result());
    assert.equal(result, 'success');
    assert.equal(stubs.attempts.length, 2);
  });

  it('a cancel while waiting in its lane ends the delivery without an attempt', async () => {
    const stubs = new StubActivities([{ kind: 'waiting', forDeliveryId: 'd-ahead' }]);
    const result = await run(stubs, async (tq) => {
      const h = await start(tq, 'lane-cancel', { deliveryId: 'd-lane-cancel', fresh: true });
      await waitFor(async () => stubs.attempts.length === 1, 'the look at the lane');
      assert.deepEqual(await h.executeUpdate(cancelUpdate, { args: ['not needed'] }), { accepted: true });
      return h.result();
    });
    assert.equal(result, 'failed');
    assert.deepEqual(stubs.cancelled, [{ deliveryId: 'd-lane-cancel', reason: 'not needed' }]);
    assert.equal(stubs.attempts.length, 1);
  });

  it('a delivery superseded in its lane ends superseded', async () => {
    const stubs = new StubActivities([{ kind: 'closed', status: 'superseded' }]);
    const result = await run(stubs, async (tq) => (await start(tq, 'superseded', { deliveryId: 'd-superseded', fresh: true })).result());
    assert.equal(result, 'superseded');
  });

  it('a cancel during a long wait records the reason and sends nothing more', async () => {
    const stubs = new StubActivities([recorded('retrying', 3_600_000)]);
    const result = await run(stubs, async (tq) => {
      const h = await start(tq, 'cancel', { deliveryId: 'd-cancel', fresh: true });
      await waitFor(async () => stubs.attempts.length === 1, 'the first attempt');
      assert.deepEqual(await h.executeUpdate(cancelUpdate, { args: ['stop it'] }), { accepted: true });
      return h.result();
    });
    assert.equal(result, 'failed');
    assert.deepEqual(stubs.cancelled, [{ deliveryId: 'd-cancel', reason: 'stop it' }]);
    assert.equal(stubs.attempts.length, 1);
  });

  it('a manual run of a closed delivery gets a fresh budget from where it stands', async () => {
    const stubs = new StubActivities([recorded('success')]);
    stubs.plan = { status: 'failed', attemptsSoFar: 4, scheduleMs: [100] };
    const result = await run(stubs, async (tq) =>
      (await start(tq, 'manual', { deliveryId: 'd-manual', trigger: 'manual', redelivery: false })).result(),
    );
    assert.equal(result, 'success');
    assert.deepEqual(stubs.attempts.map((a) => [a.attempt, a.trigger, a.budgetBase]), [[5, 'manual', 4]]);
  });

  it('refuses a redeliver or a second cancel while a cancel is being recorded, and keeps them out of the history', async () => {
    let release!: () => void;
    const stubs = new StubActivities([recorded('retrying', 3_600_000)]);
    stubs.holdCancel = new Promise<void>((r) => (release = r));
    const { workflowId, result } = await run(stubs, async (tq) => {
      const h = await start(tq, 'refuse', { deliveryId: 'd-refuse', fresh: true });
      await waitFor(async () => stubs.attempts.length === 1, 'the first attempt');
      await h.executeUpdate(cancelUpdate, { args: ['first'] });
      try {
        await waitFor(async () => stubs.cancelCalls === 1, 'recordCancelled to start');
        for (const send of [() => h.executeUpdate(redeliverUpdate), () => h.executeUpdate(cancelUpdate, { args: ['second'] })]) {
          await assert.rejects(send(), (err: unknown) => {
            assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
            assert.ok(err.cause instanceof ApplicationFailure && err.cause.type === 'DeliveryClosing', String(err.cause));
            return true;
          });
        }
      } finally {
        // the held activity must end before the worker can shut down
        release();
      }
      return { workflowId: h.workflowId, result: await h.result() };
    });
    assert.equal(result, 'failed');
    assert.deepEqual(stubs.cancelled.map((c) => c.reason), ['first']);
    const accepted = (await historyEvents(workflowId)).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.equal(accepted.length, 1, 'only the first cancel reached the history');
  });

  for (const workflow of ['deliveryWorkflowV3', 'deliveryWorkflowV2', 'deliveryWorkflow']) {
    it(`${workflow}: ends failed with DeliveryNotFound when the row is gone, instead of waiting for it`, async () => {
      const gone = ApplicationFailure.nonRetryable('delivery d-gone does not exist', 'DeliveryNotFound');
      const stubs = new StubActivities([{ throw: gone }]);
      const err = await run(stubs, async (tq) => {
        const h = await start(tq, `gone-${workflow}`, { deliveryId: 'd-gone', fresh: true }, workflow);
        return h.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      });
      assert.ok(err instanceof WorkflowFailedError, String(err));
      assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
      assert.equal(err.cause.type, 'DeliveryNotFound');
      assert.match(err.cause.message, /d-gone does not exist/);
      assert.equal(stubs.attempts.length, 1, 'one try, no waits');
      assert.equal(stubs.lost.length, 0, 'not logged as a lost attempt');
    });
  }
});
