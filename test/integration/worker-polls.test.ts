import assert from 'node:assert/strict';
import { WORKFLOW_TASK_POLLS } from '../../src/worker';
import { Hub } from '../support/hub';

// docs/DESIGN.md decision 20: a delivery usually ends in its first workflow task, which always comes from the
// task queue's normal side, so the delivery worker gives that side half of its polls (the SDK's default: 2 of 10).
// Measured in docs/benchmarks.md ("Workflow task polls"); this checks the options the running worker compiled.
describe('the delivery worker polls the normal workflow task queue as much as the sticky one', function () {
  this.timeout(120_000);
  let hub: Hub;
  before(async () => {
    hub = await Hub.start('worker-polls');
  });
  after(async () => {
    await hub?.close();
  });

  it('runs 16 workflow task polls, half of them on the normal queue', () => {
    const o = hub.worker!.options;
    assert.deepEqual(o.workflowTaskPollerBehavior, { type: 'simple-maximum', maximum: WORKFLOW_TASK_POLLS });
    assert.equal(WORKFLOW_TASK_POLLS, 16);
    assert.equal(o.nonStickyToStickyPollRatio, 0.5);
    // within the slots: a poll only runs while a workflow task slot is free
    assert.ok((o.maxConcurrentWorkflowTaskExecutions ?? 40) >= WORKFLOW_TASK_POLLS, `slots ${o.maxConcurrentWorkflowTaskExecutions}`);
  });
});
