import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// Bounded background work (issue 18): recoveries and replays run on their own task queue (never the delivery
// slots), at most BACKGROUND_MAX_JOBS at once (409 problem+json with Retry-After beyond), and two overlapping
// recoveries never redeliver the same delivery twice (each delivery is claimed in SQL before its redelivery).
const MAX_JOBS = 2;
const N = 40;

describe('background jobs: own task queue, a cap, no double redelivery (real pipeline)', function () {
  this.timeout(240_000);
  let hub: Hub;
  let receiver: Receiver;
  let subId: string;

  before(async () => {
    // the receiver fails all of them on purpose: no circuit may open on its target
    hub = await Hub.start('bgjobs', { BACKGROUND_MAX_JOBS: String(MAX_JOBS), TARGET_CIRCUIT_MIN_ATTEMPTS: '100000' });
    receiver = await new Receiver().start();
    const res = await hub.call('POST', '/subscriptions', {
      name: 'bg', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/bg` }, retryPolicy: { scheduleMs: [] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    subId = res.body.id;
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  async function jobDone(path: string): Promise<any> {
    return waitFor(async () => {
      const r = await hub.call('GET', path);
      return r.body.status === 'done' ? r.body : undefined;
    }, `${path} done`, 60_000, 200);
  }

  it('runs at most BACKGROUND_MAX_JOBS jobs at once on the background queue, answering 409 with Retry-After beyond', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    // with no worker the admitted jobs stay running: the cap is what answers the next ones
    await hub.stopWorker();
    const admitted: string[] = [];
    for (let i = 0; i < MAX_JOBS; i++) {
      const r = await hub.call('POST', '/deliveries/recover', { status: 'failed', since });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      admitted.push(r.body.id);
    }
    const stack = await getStack();
    const described = await stack.client.workflow.getHandle(`recovery:${admitted[0]}`).describe();
    assert.equal(described.taskQueue, `${hub.config.temporal.taskQueue}-background`);

    const refused = await hub.call('POST', '/deliveries/recover', { status: 'failed', since });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.match(refused.body.detail, /2 background jobs .* are running/);
    const replay = await hub.call('POST', `/subscriptions/${subId}/replay`, { since });
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.equal(replay.headers.get('retry-after'), '30');
    const [{ n }] = await hub.dataSource.query(`SELECT (SELECT count(*) FROM recoveries) + (SELECT count(*) FROM replays) AS n`);
    assert.equal(Number(n), MAX_JOBS, 'a refused job leaves no row');

    // once they end, there is room again
    await hub.startWorker();
    for (const id of admitted) await jobDone(`/deliveries/recover/${id}`);
    const again = await hub.call('POST', `/subscriptions/${subId}/replay`, { since });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    await jobDone(`/subscriptions/${subId}/replay/${again.body.id}`);
  });

  it('admits no more than the cap when many ask at once', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    await hub.stopWorker();
    const answers = await Promise.all(Array.from({ length: 8 }, () => hub.call('POST', '/deliveries/recover', { status: 'failed', since })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [...Array(MAX_JOBS).fill(202), ...Array(8 - MAX_JOBS).fill(409)]);
    await hub.startWorker();
    for (const a of answers.filter((x) => x.status === 202)) await jobDone(`/deliveries/recover/${a.body.id}`);
  });

  it('frees the place of a job whose workflow was terminated through Temporal, outside the hub', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    // with no worker the admitted jobs stay running, holding both places
    await hub.stopWorker();
    const admitted: string[] = [];
    for (let i = 0; i < MAX_JOBS; i++) {
      const r = await hub.call('POST', '/deliveries/recover', { status: 'failed', since });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      admitted.push(r.body.id);
    }
    const full = await hub.call('POST', `/subscriptions/${subId}/replay`, { since });
    assert.equal(full.status, 409, 'at the cap while both workflows run');

    const stack = await getStack();
    await stack.client.workflow.getHandle(`recovery:${admitted[0]}`).terminate('an operator ends it in Temporal Web');
    const replay = await hub.call('POST', `/subscriptions/${subId}/replay`, { since });
    assert.equal(replay.status, 202, `a place is free once the terminated job's row is closed: ${JSON.stringify(replay.body)}`);
    const reaped = await hub.call('GET', `/deliveries/recover/${admitted[0]}`);
    assert.equal(reaped.body.status, 'failed');
    assert.match(reaped.body.error, /workflow \(recovery:rcv_\w+\) ended terminated before the recovery finished/);
    assert.ok(reaped.body.finishedAt);
    // the other job still runs: the cap holds
    assert.equal((await hub.call('GET', `/deliveries/recover/${admitted[1]}`)).body.status, 'running');
    const still = await hub.call('POST', '/deliveries/recover', { status: 'failed', since });
    assert.equal(still.status, 409, JSON.stringify(still.body));

    await hub.startWorker();
    await jobDone(`/deliveries/recover/${admitted[1]}`);
    await jobDone(`/subscriptions/${subId}/replay/${replay.body.id}`);
  });

  it('redelivers each failed delivery once when two recoveries of the same range overlap', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    receiver.fallback = () => ({ status: 503 });
    for (let i = 0; i < N; i++) {
      const res = await hub.call('POST', '/ingest', { event: 'incident.created', id: `evt-bg-${i}`, payload: { incidentId: `b${i}`, title: 'Down', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    await waitFor(async () => {
      const rows: { status: string }[] = await hub.dataSource.query(`SELECT status FROM deliveries WHERE subscription_id = $1`, [subId]);
      return rows.length === N && rows.every((r) => r.status === 'failed');
    }, `all ${N} deliveries to fail`, 60_000, 200);
    receiver.fallback = () => ({ status: 200 });
    const before = receiver.at('/bg').length;

    const [a, b] = await Promise.all([0, 1].map(() => hub.call('POST', '/deliveries/recover', { subscriptionId: subId, status: 'failed', since })));
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    const [da, db] = [await jobDone(`/deliveries/recover/${a.body.id}`), await jobDone(`/deliveries/recover/${b.body.id}`)];
    await waitFor(async () => {
      const rows: { status: string; n: number }[] = await hub.dataSource.query(`SELECT status, count(*)::int AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`, [subId]);
      return rows.length === 1 && rows[0].status === 'success';
    }, 'every delivery redelivered', 60_000, 200).catch(async (err) => {
      const rows = await hub.dataSource.query(`SELECT status, count(*)::int AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`, [subId]);
      throw new Error(`${err.message}: ${JSON.stringify({ rows, da, db, sent: receiver.at('/bg').length - before })}`);
    });

    const sent = receiver.at('/bg').slice(before);
    const ids = sent.map((r) => String(r.headers['webhook-id']));
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(twice, [], 'webhook-ids received more than once');
    assert.equal(new Set(ids).size, N);
    assert.equal(da.done + db.done, N, `done: ${da.done} + ${db.done}`);
    assert.equal(da.failed + db.failed, 0);
    console.log(`      overlapping recoveries: ${da.done} + ${db.done} redelivered, ${sent.length} requests for ${N} deliveries`);
  });
});
