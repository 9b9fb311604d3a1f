import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { freePort } from '../support/ports';
import { PROJECT_ROOT, getStack } from '../support/stack';
import { StubActivities, recorded, stubWorker } from '../support/stub-worker';
import { redeliverUpdate } from '../../workflows/types';

// A delivery that waits a long time (many retries, a follow-up waiting for its creator) goes on in new runs
// once Temporal suggests it, with its attempt numbers, budget and backoff intact. This suite runs its own dev
// server that suggests continue-as-new after a few dozen events instead of thousands.
describe('long deliveries continue as new', function () {
  this.timeout(120_000);
  let server: TemporalDevServer;
  let connection: Connection;
  let client: Client;

  before(async () => {
    const { tmpDir } = await getStack();
    const dir = fs.mkdtempSync(path.join(tmpDir, 'can-'));
    server = await startTemporalDevServer({
      binary: ensureTemporalCli(PROJECT_ROOT),
      dbFile: path.join(dir, 'temporal.db'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      headless: true,
      // a few dozen events: an attempt as a local activity writes fewer events than an activity (DESIGN decision 15)
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 20 },
    });
    connection = await Connection.connect({ address: server.address });
    await ensureSearchAttributes(connection, 'default');
    client = new Client({ connection, namespace: 'default' });
  });
  after(async () => {
    await connection?.close();
    await server?.stop();
  });

  /** The runs of one workflow id, oldest first, with how each closed. */
  async function runsOf(workflowId: string): Promise<string[]> {
    const statuses: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) statuses.unshift(w.status.name);
    return statuses;
  }

  it('keeps attempt numbers and budget exact across runs of a long retry schedule', async () => {
    const steps = [...Array.from({ length: 14 }, () => recorded('retrying', 20)), recorded('success')];
    const stubs = new StubActivities(steps);
    const w = await stubWorker(server.address, stubs);
    const workflowId = `can-retry-${w.taskQueue}`;
    try {
      const result = await w.worker.runUntil(async () => {
        const h = await client.workflow.start('deliveryWorkflowV2', { workflowId, taskQueue: w.taskQueue, args: [{ deliveryId: 'd-long', fresh: true }] });
        return h.result();
      });
      assert.equal(result, 'success');
    } finally {
      await w.close();
    }
    assert.deepEqual(stubs.attempts.map((a) => a.attempt), Array.from({ length: 15 }, (_, i) => i + 1), 'each attempt once, in order');
    assert.ok(stubs.attempts.every((a) => a.budgetBase === 0 && a.trigger === 'scheduled' && a.deliveryId === 'd-long'));
    const runs = await runsOf(workflowId);
    assert.ok(runs.length >= 3, `runs: ${runs.join(', ')}`);
    assert.deepEqual(runs.slice(0, -1), runs.slice(0, -1).map(() => 'CONTINUED_AS_NEW'));
    assert.equal(runs[runs.length - 1], 'COMPLETED');
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      assert.ok(w.historyLength <= 60, `run ${w.runId} has ${w.historyLength} events`);
    }
  });

  it('carries a follow-up wait and a manual redeliver into the next run', async () => {
    // deferred (waits 0.5 s, 1 s, 2 s, ...) until the creator is done, then retrying for an hour until woken
    const deferred = { kind: 'deferred' as const, result: { outcome: 'deferred' as const, startedAtMs: 0, durationMs: 0 } };
    const stubs = new StubActivities([deferred, deferred, deferred, deferred, recorded('retrying', 3_600_000), recorded('success')]);
    const w = await stubWorker(server.address, stubs);
    const workflowId = `can-defer-${w.taskQueue}`;
    try {
      const result = await w.worker.runUntil(async () => {
        const h = await client.workflow.start('deliveryWorkflowV2', { workflowId, taskQueue: w.taskQueue, args: [{ deliveryId: 'd-defer', fresh: true }] });
        const waitUntil = Date.now() + 60_000;
        while (stubs.attempts.length < 5 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 50));
        assert.equal(stubs.attempts.length, 5, 'four deferrals and one attempt');
        await client.workflow.getHandle(workflowId).executeUpdate(redeliverUpdate);
        return h.result();
      });
      assert.equal(result, 'success');
    } finally {
      await w.close();
    }
    // deferrals are not attempts: the first real attempt is 1, the woken one 2 and manual
    assert.deepEqual(stubs.attempts.map((a) => [a.attempt, a.trigger]), [[1, 'scheduled'], [1, 'scheduled'], [1, 'scheduled'], [1, 'scheduled'], [1, 'scheduled'], [2, 'manual']]);
    const runs = await runsOf(workflowId);
    assert.ok(runs.length >= 2, `runs: ${runs.join(', ')}`);
  });

  it('carries a wait for the database (infrastructure) into the next run without counting it as an attempt', async () => {
    const down = { throw: ApplicationFailure.nonRetryable('could not load the delivery: connection refused', 'Infrastructure') };
    const stubs = new StubActivities([down, down, down, down, recorded('success')]);
    const w = await stubWorker(server.address, stubs);
    const workflowId = `can-infra-${w.taskQueue}`;
    try {
      const result = await w.worker.runUntil(async () => {
        const h = await client.workflow.start('deliveryWorkflowV2', { workflowId, taskQueue: w.taskQueue, args: [{ deliveryId: 'd-infra', fresh: true }] });
        return h.result();
      });
      assert.equal(result, 'success');
    } finally {
      await w.close();
    }
    assert.deepEqual(stubs.attempts.map((a) => a.attempt), [1, 1, 1, 1, 1], 'nothing was sent until the database was back: still attempt 1');
    const runs = await runsOf(workflowId);
    assert.ok(runs.length >= 2, `runs: ${runs.join(', ')}`);
  });
});
