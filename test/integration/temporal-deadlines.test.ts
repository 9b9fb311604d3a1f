import assert from 'node:assert/strict';
import type { TcpProxy } from '../support/tcp-proxy';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor, type JsonResponse } from '../support/hub';
import { hubWithProxiedTemporal } from '../support/proxied-hub';
import { getStack } from '../support/stack';

// Deadlines everywhere a request waits on Temporal (issue 18): with a Temporal that accepts connections and
// never answers, retry, cancel and the starts of recoveries and replays answer 504 problem+json with
// Retry-After within the configured deadline instead of hanging; once Temporal answers again, they work.
const TIMEOUT_MS = 1_500;

describe('requests that wait on Temporal have a deadline (a Temporal that does not answer)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let proxy: TcpProxy;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ hub, proxy, close } = await hubWithProxiedTemporal('deadlines', { TEMPORAL_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) }));
    receiver = await new Receiver().start();
    receiver.fallback = () => ({ status: 503, body: 'down' });
  });
  after(async () => {
    await close?.();
    await receiver?.stop();
  });

  async function timed(method: string, path: string, body?: unknown): Promise<JsonResponse & { ms: number }> {
    const t0 = Date.now();
    const res = await hub.call(method, path, body);
    return { ...res, ms: Date.now() - t0 };
  }

  function assertDeadline(res: JsonResponse & { ms: number }, what: string) {
    assert.equal(res.status, 504, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(res.headers.get('retry-after'), '5');
    assert.match(res.body.detail, new RegExp(`did not answer within ${TIMEOUT_MS} ms`));
    assert.ok(res.ms >= TIMEOUT_MS - 100 && res.ms < TIMEOUT_MS + 3_000, `${what} answered after ${res.ms} ms`);
  }

  it('answers retry, cancel, recover and replay with 504 and Retry-After while Temporal stalls, and works again after', async () => {
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'deadlines', provider: 'webhook', event: 'incident.created',
      config: { url: `${receiver.url}/down` }, retryPolicy: { scheduleMs: [600_000] },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const ingested = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'deadline-1', payload: { incidentId: 'i-1', title: 't', severity: 'major' } }, INGEST_TOKEN);
    assert.equal(ingested.status, 202, JSON.stringify(ingested.body));
    const id = ingested.body.deliveries[0].id as string;
    await waitFor(async () => (await hub.call('GET', `/deliveries/${id}`)).body.status === 'retrying', 'the delivery to be retrying');

    proxy.stall();
    try {
      assertDeadline(await timed('POST', `/deliveries/${id}/retry`), 'retry');
      assertDeadline(await timed('POST', `/deliveries/${id}/cancel`), 'cancel');
      const since = new Date(Date.now() - 3_600_000).toISOString();
      assertDeadline(await timed('POST', '/deliveries/recover', { status: 'failed', since }), 'recover');
      assertDeadline(await timed('POST', `/subscriptions/${sub.body.id}/replay`, { since }), 'replay');
      // ingest does not wait on Temporal at all: its deliveries are durable and start behind the answer
      const quick = await timed('POST', '/ingest', { event: 'incident.created', id: 'deadline-2', payload: { incidentId: 'i-2', title: 't', severity: 'major' } });
      assert.equal(quick.status, 202);
      assert.ok(quick.ms < TIMEOUT_MS, `ingest answered after ${quick.ms} ms`);
      assert.equal((await hub.call('GET', `/deliveries/${id}`)).body.status, 'retrying', 'nothing changed');
    } finally {
      proxy.unstall();
    }

    // Temporal answers again: the same cancel is answered (the connection may need a moment to recover).
    // The retry and cancel asked during the stall may reach the workflow now too (their 504 said they might),
    // so this one answers 202 or, when the delivery already ended, 409; either way the delivery ends.
    await waitFor(async () => {
      const res = await hub.call('POST', `/deliveries/${id}/cancel`);
      return res.status === 202 || res.status === 409 ? res : undefined;
    }, 'cancel to be answered once Temporal answers', 30_000, 500);
    await waitFor(async () => (await hub.call('GET', `/deliveries/${id}`)).body.status === 'failed', 'the delivery to end');
    const { client } = await getStack();
    await waitFor(async () => (await client.workflow.getHandle(`delivery:deadline-1:${sub.body.id}`).describe()).status.name !== 'RUNNING', 'its workflow to close');
  });
});
