import assert from 'node:assert/strict';
import type { TcpProxy } from '../support/tcp-proxy';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { START_DEADLINE_MS } from '../../src/temporal/deliveries';
import { hubWithProxiedTemporal } from '../support/proxied-hub';

// Workflow starts with backpressure (issue 22): 100 events accepted at once while Temporal takes no starts
// (a stalled connection, longer than the 3 s start deadline). Before, every one of the 100 starts waited out
// its deadline and failed (a storm of 100 failures, then the reconciler re-sent up to 500 at once). Now at
// most WORKFLOW_START_CONCURRENCY starts are in flight; when they fail the rest are left to the reconciler,
// which starts them in small batches once Temporal answers. Every event is delivered exactly once.
const CONCURRENCY = 8;
const EVENTS = 100;

describe('workflow starts are paced: a stalled Temporal sees a bounded number of starts, not a storm', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let proxy: TcpProxy;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ hub, proxy, close } = await hubWithProxiedTemporal('backpressure', { WORKFLOW_START_CONCURRENCY: String(CONCURRENCY), RECONCILE_BATCH: '20' }));
    receiver = await new Receiver().start();
  });
  after(async () => {
    await close?.();
    await receiver?.stop();
  });

  it(`accepts ${EVENTS} events at once with Temporal stalled: at most ${CONCURRENCY} start failures, all delivered once after`, async () => {
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'paced', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/paced` },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    // a first start so the API's connection to Temporal is up before the stall
    const first = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'paced-warm', payload: { incidentId: 'w', title: 'w', severity: 'minor' } }, INGEST_TOKEN);
    assert.equal(first.status, 202);
    await waitFor(async () => receiver.at('/paced').length === 1, 'the warm-up delivery');
    const pacer = hub.api.ingest.pacer;
    const before = { ...pacer.counts };

    proxy.stall();
    const stalledAt = Date.now();
    const replies = await Promise.all(
      Array.from({ length: EVENTS }, (_, i) =>
        hub.call('POST', '/ingest', { event: 'incident.created', id: `paced-${i}`, payload: { incidentId: `i-${i}`, title: 't', severity: 'major' } }, INGEST_TOKEN),
      ),
    );
    assert.deepEqual(replies.map((r) => r.status), Array(EVENTS).fill(202), 'ingest answers from PostgreSQL, whatever Temporal does');
    // once the in-flight starts have failed, the queue is left to the reconciler; an event accepted after that
    // sends one probe start per start deadline. On a loaded machine the 100 requests take longer than one deadline.
    const probeRounds = Math.floor((Date.now() - stalledAt) / START_DEADLINE_MS);
    // the starts in flight wait out their deadline; the queue behind them is left to the reconciler
    await waitFor(async () => pacer.backlog === 0, 'the paced starts to end', 30_000);
    proxy.unstall();
    const failed = pacer.counts.failed - before.failed;
    const left = pacer.counts.left - before.left;
    assert.ok(failed >= 1 && failed <= CONCURRENCY + probeRounds, `start failures while stalled: ${failed} (at most ${CONCURRENCY} in flight and ${probeRounds} probes)`);
    assert.equal(failed + left + (pacer.counts.started - before.started), EVENTS, 'every start ended one way');
    assert.ok(left >= EVENTS - CONCURRENCY - probeRounds - (pacer.counts.started - before.started), `left to the reconciler: ${left}`);
    const failureLines = hub.logs.filter((l) => l.includes('workflow start failed')).length;
    assert.ok(failureLines <= CONCURRENCY + probeRounds, `"workflow start failed" logged ${failureLines} times`);

    // the reconciler starts the rest in batches of 20 once Temporal answers (past the 5 s grace)
    await waitFor(
      async () => {
        await hub.api.reconciler.reconcileOnce();
        const r = await hub.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE emission_id LIKE 'paced-%' AND emission_id <> 'paced-warm' AND status = 'success'`);
        return r[0].n === EVENTS;
      },
      'every delivery to succeed',
      120_000,
      500,
    );
    const seen = receiver.at('/paced').map((r) => String(r.headers['webhook-id']));
    assert.equal(seen.length, EVENTS + 1, 'one request per delivery');
    assert.equal(new Set(seen).size, EVENTS + 1, 'no delivery twice');
    assert.equal(pacer.counts.failed - before.failed, failed, 'no more failures once Temporal answered');
  });
});
