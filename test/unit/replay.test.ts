import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { workflowSource } from '../../src/worker';
import { workerTracing } from '../../src/temporal/tracing';

// Every recorded history (test/fixtures/histories/, written by test/support/record-histories.ts from real runs of
// each workflow version) must replay on today's workflow code: a change that would break an open run on an
// upgraded worker (a reordered, added or removed command) fails here, not in production.
const HISTORIES_DIR = path.resolve(__dirname, '../../../test/fixtures/histories');

describe('recorded delivery histories replay on the current workflow code', function () {
  this.timeout(120_000);
  const files = fs.existsSync(HISTORIES_DIR) ? fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort() : [];

  it('has histories of every delivery workflow version and of the recovery, replay and retention workflows to replay', () => {
    const types = new Set(files.map((f) => workflowType(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')))));
    assert.deepEqual([...types].sort(), ['deliveryWorkflow', 'deliveryWorkflowV2', 'deliveryWorkflowV3', 'recoverDeliveriesWorkflow', 'replayMissedWorkflow', 'retentionWorkflow']);
  });

  // a history read on the delivery log's word (success) could end before the run's last workflow task completed
  // (an attempt's local-activity marker is recorded with it): it replays, but pins nothing of that task's commands
  it('has only histories of runs that closed (the last workflow task and its commands recorded)', () => {
    const closing = /^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|FAILED|CANCELED|TERMINATED|TIMED_OUT|CONTINUED_AS_NEW)$/;
    // recorded on that commit's code, before the recorder waited for the run to close (kept: it replays an open run's start)
    const cut = ['v2-success@8876965.json'];
    const open = files.filter((f) => {
      const events: { eventType: string }[] = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')).events;
      return !closing.test(events[events.length - 1].eventType);
    });
    assert.deepEqual(open, cut);
  });

  // both bundles: the plain one (trace header handed on) and the one with the OpenTelemetry workflow interceptors
  for (const traced of [false, true]) {
    it(`replays every history without a determinism error (${traced ? 'traced' : 'plain'} bundle)`, async () => {
      const histories = files.map((f) => ({
        workflowId: f.replace(/\.json$/, ''),
        history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8'))),
      }));
      const failures: string[] = [];
      let replayed = 0;
      const source = workflowSource(traced);
      assert.ok('workflowBundle' in source, 'the prebuilt bundle (npm run build)');
      for await (const r of Worker.runReplayHistories({ ...source, sinks: workerTracing(true, traced).sinks, replayName: `delivery-histories-${traced}` }, histories)) {
        replayed += 1;
        if (r.error) failures.push(`${r.workflowId}: ${r.error.message.split('\n')[0]}`);
      }
      assert.equal(replayed, files.length);
      assert.deepEqual(failures, []);
    });
  }
});

describe('a recorded history altered the way a careless change would alter the code', function () {
  this.timeout(120_000);
  // v2-success as recorded before the attempt became a local activity (its attempt an activity task), but its
  // attempt scheduled under another activity type: what an open run would meet if the workflow code swapped its
  // activity without patched(). Replay must refuse it, or the replay test above could pass whatever the code does.
  const ORIGINAL = 'v2-success@36e1d0a.json';

  function history(alter: boolean): temporal.api.history.v1.History {
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, ORIGINAL), 'utf8'));
    if (alter) {
      const scheduled = json.events.filter((e: any) => e.activityTaskScheduledEventAttributes);
      assert.equal(scheduled.length, 1, 'the recorded history schedules one activity');
      assert.equal(scheduled[0].activityTaskScheduledEventAttributes.activityType.name, 'deliverAttempt');
      scheduled[0].activityTaskScheduledEventAttributes.activityType.name = 'attemptDelivery';
    }
    return temporal.api.history.v1.History.fromObject(json);
  }

  it('replays as recorded, and fails with a determinism error once its activity type is changed', async () => {
    const options = { ...workflowSource(), sinks: workerTracing(true, false).sinks, replayName: 'altered-history' };
    await Worker.runReplayHistory(options, history(false), 'v2-success-as-recorded');
    await assert.rejects(Worker.runReplayHistory(options, history(true), 'v2-success-altered'), (err: Error) => {
      assert.equal(err.name, 'DeterminismViolationError', `${err.name}: ${err.message}`);
      assert.match(err.message, /deliverAttempt|attemptDelivery/);
      return true;
    });
  });
});

function workflowType(json: { events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] }): string | undefined {
  return json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}
