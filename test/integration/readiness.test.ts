import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

// Readiness tells the truth (issue 18): /readyz is not ready (503, naming the check) when no worker polls the
// delivery task queue and when a delivery has waited longer than READINESS_MAX_PENDING_AGE_S for its first
// attempt, and ready again once a worker polls and the backlog moves. The dev server answers idle polls after
// 15 s (src/dev/temporal-dev-server.ts), so a polling worker is never seen older than that.
const POLLER_MAX_AGE_S = 25;
const NOT_READY_BOUND_MS = 30_000;

interface Readyz {
  status: number;
  body: { status: string; checks: Record<string, { ok: boolean; error?: string }> };
}

describe('readiness tells the truth (workers polling, oldest pending delivery)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('readiness', { READINESS_POLLER_MAX_AGE_S: String(POLLER_MAX_AGE_S), READINESS_MAX_PENDING_AGE_S: '60' });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  async function readyz(): Promise<Readyz> {
    const res = await fetch(`${hub.baseUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as Readyz['body'] };
  }

  async function workersPolling(): Promise<number | undefined> {
    const text = await (await fetch(`${hub.baseUrl}/metrics`)).text();
    const m = new RegExp(`^integrations_hub_workers_polling\\{task_queue="${hub.config.temporal.taskQueue}"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  }

  it('is ready while the worker polls, with every check named', async () => {
    const r = await waitFor(async () => {
      const x = await readyz();
      return x.status === 200 ? x : undefined;
    }, 'readyz 200', 30_000, 200);
    assert.deepEqual(Object.keys(r.body.checks).sort(), ['database', 'pendingAge', 'temporal', 'workers']);
    assert.equal(await workersPolling(), 1);
  });

  it('stays ready over more than a whole long poll of an idle worker (no flapping)', async () => {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const r = await readyz();
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await new Promise((res) => setTimeout(res, 500));
    }
  });

  it('goes not ready within 30 s after the only worker stops, naming the workers check, and ready again after it starts', async () => {
    await hub.stopWorker();
    const stoppedAt = Date.now();
    const down = await waitFor(async () => {
      const x = await readyz();
      return x.status === 503 ? x : undefined;
    }, 'readyz 503', NOT_READY_BOUND_MS, 250);
    const tookMs = Date.now() - stoppedAt;
    assert.deepEqual(down.body.checks.workers, { ok: false, error: 'no worker polls the delivery task queue' });
    assert.equal(down.body.checks.database.ok, true);
    assert.equal(down.body.checks.temporal.ok, true);
    assert.equal(await workersPolling(), 0);
    console.log(`      not ready ${tookMs} ms after the worker stopped`);

    await hub.startWorker();
    const startedAt = Date.now();
    await waitFor(async () => (await readyz()).status === 200, 'readyz 200 after the worker starts', 30_000, 250);
    console.log(`      ready again ${Date.now() - startedAt} ms after the worker started`);
    assert.equal(await workersPolling(), 1);
  });

  it('is not ready while a pending delivery is older than READINESS_MAX_PENDING_AGE_S, and ready once it is attempted', async () => {
    await hub.stopWorker();
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'readiness', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/ok` },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const ingested = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'ready-1', payload: { incidentId: 'i-1', title: 't', severity: 'major' } }, INGEST_TOKEN);
    assert.equal(ingested.status, 202, JSON.stringify(ingested.body));
    const id = ingested.body.deliveries[0].id as string;
    // as if it had waited 10 minutes
    await hub.dataSource.query(`UPDATE deliveries SET created_at = created_at - interval '10 minutes' WHERE id = $1 AND status = 'pending'`, [id]);
    await hub.startWorker();
    // the worker polls again, but the old pending delivery alone keeps /readyz at 503 until it is attempted
    const first = await readyz();
    if (first.status === 503 && first.body.checks.workers.ok) {
      assert.match(first.body.checks.pendingAge.error ?? '', /^the oldest pending delivery is 6\d\d s old \(limit 60 s\)$/);
    } else {
      // the delivery can be attempted before the first look; then it must be attempted, i.e. no longer pending
      assert.ok(first.status === 503 || (await hub.dataSource.query(`SELECT status FROM deliveries WHERE id = $1`, [id]))[0].status !== 'pending', JSON.stringify(first.body));
    }
    await waitFor(async () => (await readyz()).status === 200, 'readyz 200 once the delivery is attempted', 30_000, 250);
    const [row] = await hub.dataSource.query(`SELECT status FROM deliveries WHERE id = $1`, [id]);
    assert.equal(row.status, 'success');
  });

  it('names the pending-age check while the worker is stopped and a delivery waits too long', async () => {
    await hub.stopWorker();
    const ingested = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'ready-2', payload: { incidentId: 'i-2', title: 't', severity: 'major' } }, INGEST_TOKEN);
    assert.equal(ingested.status, 202, JSON.stringify(ingested.body));
    const id = ingested.body.deliveries[0].id as string;
    await hub.dataSource.query(`UPDATE deliveries SET created_at = created_at - interval '10 minutes' WHERE id = $1`, [id]);
    const r = await readyz();
    assert.equal(r.status, 503);
    assert.match(r.body.checks.pendingAge.error ?? '', /^the oldest pending delivery is 6\d\d s old \(limit 60 s\)$/);
    await hub.startWorker();
    await waitFor(async () => (await readyz()).status === 200, 'readyz 200 once the delivery is attempted', 30_000, 250);
  });
});
