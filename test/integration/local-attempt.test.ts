import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttemptInput, AttemptReport } from '../../workflows/types';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

// The attempt as a local activity (docs/DESIGN.md decision 15): a worker that dies mid-attempt loses the
// workflow task, and another worker runs the same local activity again. That second run must not send the
// attempt a second time unlogged: it finds the mark the first run wrote before sending and logs the attempt
// as lost (the receiver may have seen it), as recordLostAttempt does for a (non-local) activity lost with its
// worker. Real PostgreSQL and HTTP; the activities run in a mock activity context that says "local".
describe('an attempt run as a local activity again after its worker was lost', function () {
  this.timeout(120_000);
  let hub: Hub;
  let server: http.Server;
  let url = '';
  /** Every request the receiver got: path and webhook-id. */
  const requests: { path: string; id: string }[] = [];
  /** Requests to /hold get no answer until the test ends (the first run's worker "died" waiting for it). */
  const held: http.ServerResponse[] = [];

  before(async () => {
    hub = await Hub.start('local-attempt');
    // no worker: the activities below are the only ones to run these deliveries
    await hub.stopWorker();
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests.push({ path: req.url ?? '', id: String(req.headers['webhook-id'] ?? '') });
        if (req.url?.startsWith('/hold') && held.length === 0) held.push(res);
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of held) res.destroy();
    server?.closeAllConnections();
    server?.close();
    await hub?.close();
  });


  /** The context of local activity `seq` of run `runId`: the same pair when a workflow task is retried. */
  function local(runId: string, seq: number) {
    return new MockActivityEnvironment({ isLocal: true, activityId: String(seq), workflowExecution: { workflowId: `wf-${runId}`, runId } });
  }

  /** Runs the attempt activity in `env`. */
  function attempt(env: MockActivityEnvironment, acts: ReturnType<Hub['activities']>, input: AttemptInput): Promise<AttemptReport> {
    return env.run(acts.deliverAttempt, input) as Promise<AttemptReport>;
  }

  async function delivery(path: string, id: string): Promise<string> {
    // a system of its own, so that the event matches this subscription only (the earlier tests' are still there)
    const sub = await hub.call('POST', '/subscriptions', { name: `local ${id}`, provider: 'webhook', event: 'incident.created', systemIds: [id], config: { url: `${url}${path}` }, retryPolicy: { scheduleMs: [100, 100] } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, systemIds: [id], payload: { incidentId: id, title: `Outage ${id}`, severity: 'major' } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.deliveries.map((d: { subscriptionId: string }) => d.subscriptionId), [sub.body.id], 'one delivery, to this subscription');
    return res.body.deliveries[0].id as string;
  }

  async function attemptLog(deliveryId: string): Promise<{ attempt: number; outcome: string; errorCode?: string }[]> {
    const d = await hub.call('GET', `/deliveries/${deliveryId}`);
    return d.body.attemptLog.map((a: { attempt: number; outcome: string; errorCode?: string }) => ({ attempt: a.attempt, outcome: a.outcome, ...(a.errorCode ? { errorCode: a.errorCode } : {}) }));
  }

  it('logs the attempt as lost instead of sending it again; the next attempt sends', async () => {
    const id = await delivery('/hold', 'local-lost');
    const acts = hub.activities();
    const input: AttemptInput = { deliveryId: id, attempt: 1, trigger: 'scheduled', redelivery: false, budgetBase: 0 };
    // the first run sends and never hears back: its worker is gone (the promise is left behind)
    void attempt(local('run-1', 5), acts, input).catch(() => undefined);
    await waitFor(async () => requests.filter((r) => r.path === '/hold').length === 1, 'the first send');

    const again = await attempt(local('run-1', 5), acts, input);
    assert.equal(again.kind, 'recorded');
    assert.equal(again.kind === 'recorded' && again.stored.status, 'retrying');
    assert.equal(requests.filter((r) => r.path === '/hold').length, 1, 'not sent a second time');
    assert.deepEqual(await attemptLog(id), [{ attempt: 1, outcome: 'retryable', errorCode: 'attempt_lost' }]);

    // the run's next attempt is another local activity (another sequence number): it sends
    const next = await attempt(local('run-1', 7), acts, { ...input, attempt: 2 });
    assert.equal(next.kind === 'recorded' && next.stored.status, 'success');
    const sent = requests.filter((r) => r.path === '/hold');
    assert.equal(sent.length, 2);
    assert.equal(sent[0].id, sent[1].id, 'the same delivery id both times: the receiver can tell the repeat');
    assert.deepEqual(await attemptLog(id), [
      { attempt: 1, outcome: 'retryable', errorCode: 'attempt_lost' },
      { attempt: 2, outcome: 'success' },
    ]);
  });

  it('an attempt that was logged before its workflow task was lost stands as logged: run again, it sends nothing', async () => {
    const id = await delivery('/ok', 'local-logged');
    const acts = hub.activities();
    const input: AttemptInput = { deliveryId: id, attempt: 1, trigger: 'scheduled', redelivery: false, budgetBase: 0 };
    const first = await attempt(local('run-2', 3), acts, input);
    assert.equal(first.kind === 'recorded' && first.stored.status, 'success');
    const again = await attempt(local('run-2', 3), acts, input);
    assert.equal(again.kind === 'recorded' && again.stored.status, 'success');
    assert.equal(requests.filter((r) => r.path === '/ok').length, 1, 'sent once');
    assert.deepEqual(await attemptLog(id), [{ attempt: 1, outcome: 'success' }]);
  });

  it('a (non-local) activity writes no mark: Temporal tells its loss (heartbeat timeout), recordLostAttempt logs it', async () => {
    const id = await delivery('/plain', 'local-plain');
    const acts = hub.activities();
    const input: AttemptInput = { deliveryId: id, attempt: 1, trigger: 'scheduled', redelivery: false, budgetBase: 0 };
    const env = new MockActivityEnvironment({ isLocal: false, activityId: '3', workflowExecution: { workflowId: 'wf-plain', runId: 'run-3' } });
    const first = await attempt(env, acts, input);
    assert.equal(first.kind === 'recorded' && first.stored.status, 'success');
    const marks = await hub.dataSource.query(`SELECT token FROM attempt_marks WHERE delivery_id = $1`, [id]);
    assert.deepEqual(marks, []);
  });
});
