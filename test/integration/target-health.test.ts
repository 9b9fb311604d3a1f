import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

const COOLDOWN_MS = 3_000;

describe('target health and the hub\'s own events (real Temporal, PostgreSQL and HTTP)', function () {
  this.timeout(120_000);
  let hub: Hub;
  /** Takes the hub's own events. */
  let sink: Receiver;
  /** Fails until told otherwise: its circuit opens. */
  let flaky: Receiver;
  /** Always fails. */
  let broken: Receiver;

  before(async () => {
    hub = await Hub.start('target_health', {
      TARGET_CIRCUIT_MIN_ATTEMPTS: '6',
      TARGET_CIRCUIT_FAILURE_RATIO: '0.7',
      TARGET_CIRCUIT_WINDOW_MS: '120000',
      TARGET_CIRCUIT_COOLDOWN_MS: String(COOLDOWN_MS),
    });
    [sink, flaky, broken] = await Promise.all([new Receiver().start(), new Receiver().start(), new Receiver().start()]);
    broken.fallback = () => ({ status: 500, body: 'down' });
  });
  after(async () => {
    await hub?.close();
    await Promise.all([sink?.stop(), flaky?.stop(), broken?.stop()]);
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  async function subscribe(event: string, url: string, scheduleMs: number[]) {
    const res = await hub.call('POST', '/subscriptions', { name: `${event} to ${url}`, provider: 'webhook', event, config: { url }, retryPolicy: { scheduleMs } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  async function ingest(id: string) {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'] } }, INGEST_TOKEN);
    assert.equal(res.status, 202);
    return res.body.deliveries as { id: string }[];
  }

  const hubEventsAt = (path: string, event: string) => sink.at(path).map((r) => JSON.parse(r.body)).filter((b) => b.type === event);

  it('opens the circuit of a failing target, holds attempts until one probe, and closes it when the probe succeeds', async () => {
    await subscribe('hub.target.unhealthy', `${sink.url}/health`, [100]);
    await subscribe('hub.target.recovered', `${sink.url}/health`, [100]);
    const sub = await subscribe('incident.created', `${flaky.url}/in`, Array(30).fill(200));
    flaky.fallback = () => ({ status: 503, body: 'busy' });
    const deliveries = [...(await ingest('th-1')), ...(await ingest('th-2')), ...(await ingest('th-3'))];
    assert.equal(deliveries.length, 3);

    const open = await waitFor(async () => {
      const r = await hub.call('GET', '/targets?state=open');
      return r.body.items.find((t: { target: string }) => t.target === flaky.url);
    }, 'the circuit of the failing receiver to open');
    // the open circuit shows on /metrics (computed from target_health at scrape time)
    const gauge = await hub.metrics.getSingleMetric('integrations_hub_open_circuits')!.get();
    const openNow = gauge.values.filter((v) => v.labels.state === 'open' || v.labels.state === 'half_open').reduce((n, v) => n + v.value, 0);
    assert.ok(openNow >= 1, `open circuits on /metrics: ${JSON.stringify(gauge.values)}`);
    // the receiver recovers; only the probe after the cool-down may find that out
    flaky.fallback = () => ({ status: 200, body: 'ok' });
    assert.equal(open.provider, 'webhook');
    assert.ok(open.failureRate >= 0.7, JSON.stringify(open));
    assert.ok(open.attemptsInWindow >= 6);
    assert.deepEqual(open.subscriptions.map((s: { id: string }) => s.id), [sub.id]);
    const openedAtMs = Date.parse(open.openedAt);

    for (const d of deliveries) {
      await waitFor(async () => (await hub.call('GET', `/deliveries/${d.id}`)).body.status === 'success', `delivery ${d.id} to succeed`, 60_000);
    }
    const closed = await waitFor(async () => {
      const r = await hub.call('GET', '/targets?state=closed');
      return r.body.items.find((t: { target: string }) => t.target === flaky.url);
    }, 'the circuit to close');
    assert.equal(closed.openedAt, null);

    // attempts already under way when it opened may land just after; then nothing until the probe
    const after = flaky.received.filter((r) => r.at > openedAtMs + 500);
    assert.ok(after.length >= 1, 'the probe arrived');
    const probe = after[0];
    assert.ok(probe.at >= openedAtMs + COOLDOWN_MS - 50, `the first attempt after opening came ${probe.at - openedAtMs} ms after it, before the cool-down`);
    // one probe, then (after its success closed the circuit) the held deliveries
    assert.equal(after.length, 1 + deliveries.length - 1, 'each held delivery sent once more after the probe; nothing else');
    const heldStartedAt = after.slice(1).map((r) => r.at);
    assert.ok(heldStartedAt.every((at) => at > probe.at), 'the others waited for the probe');

    // holding is not an attempt: each delivery's attempts are its failures plus the success
    for (const d of deliveries) {
      const body = (await hub.call('GET', `/deliveries/${d.id}`)).body;
      assert.equal(body.attemptLog.length, body.attempts);
      assert.equal(body.attemptLog.filter((a: { outcome: string }) => a.outcome === 'success').length, 1);
    }
    const view = (await hub.call('GET', `/subscriptions/${sub.id}`)).body;
    assert.equal(view.target.target, flaky.url);
    assert.equal(view.target.state, 'closed');

    const unhealthy = await waitFor(async () => hubEventsAt('/health', 'hub.target.unhealthy')[0], 'hub.target.unhealthy to be delivered');
    assert.equal(unhealthy.data.target, flaky.url);
    const recovered = await waitFor(async () => hubEventsAt('/health', 'hub.target.recovered')[0], 'hub.target.recovered to be delivered');
    assert.equal(recovered.data.target, flaky.url);
  });

  it('emits hub.delivery.exhausted when a delivery runs out of retries, and never one about a hub event\'s own delivery', async () => {
    await subscribe('hub.delivery.exhausted', `${sink.url}/exhausted`, [100]);
    // a subscription to the hub event whose own deliveries fail for good: must not cause another hub event
    const loop = await subscribe('hub.delivery.exhausted', `${broken.url}/loop`, [100]);
    await subscribe('incident.created', `${broken.url}/in`, [100]);
    const [failing] = await ingest('ex-1');

    const event = await waitFor(async () => hubEventsAt('/exhausted', 'hub.delivery.exhausted')[0], 'hub.delivery.exhausted to be delivered');
    assert.equal(event.data.deliveryId, failing.id);
    assert.equal(event.data.attempts, 2);
    assert.equal(event.data.event, 'incident.created');
    assert.match(event.data.error, /500/);

    // the delivery of that event to the broken receiver ran out of retries too; once its workflow ended, look
    const [loopDelivery] = await hub.dataSource.query(`SELECT id, workflow_id FROM deliveries WHERE subscription_id = $1`, [loop.id]);
    const stack = await getStack();
    assert.equal(await stack.client.workflow.getHandle(loopDelivery.workflow_id).result(), 'failed');
    const emitted = await hub.dataSource.query(`SELECT payload->>'deliveryId' AS delivery_id FROM emissions WHERE event = 'hub.delivery.exhausted'`);
    assert.deepEqual(emitted.map((e: { delivery_id: string }) => e.delivery_id), [failing.id]);
  });
  it('announces a pause (410) and the resume by an admin as hub events', async () => {
    await subscribe('hub.subscription.paused', `${sink.url}/paused`, [100]);
    await subscribe('hub.subscription.resumed', `${sink.url}/paused`, [100]);
    const gone = await subscribe('incident.created', `${broken.url}/gone`, [100]);
    broken.script.push({ status: 410, body: 'gone' });
    await ingest('pause-1');
    const paused = await waitFor(async () => hubEventsAt('/paused', 'hub.subscription.paused')[0], 'hub.subscription.paused to be delivered');
    assert.equal(paused.data.subscriptionId, gone.id);
    assert.match(paused.data.reason, /410|gone/i);

    const res = await hub.call('PATCH', `/subscriptions/${gone.id}`, { enabled: true });
    assert.equal(res.body.pausedReason, null);
    const resumed = await waitFor(async () => hubEventsAt('/paused', 'hub.subscription.resumed')[0], 'hub.subscription.resumed to be delivered');
    assert.equal(resumed.data.subscriptionId, gone.id);
    assert.equal(resumed.data.previousReason, paused.data.reason);
  });

  it('pauses the subscriptions of a target that has had no success for too long, with the reason', async () => {
    const sub = await subscribe('incident.created', `${broken.url}/long`, [100]);
    const [first] = await ingest('long-1');
    await waitFor(async () => (await hub.call('GET', `/deliveries/${first.id}`)).body.status === 'failed', 'the first delivery to fail');
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
    // as if the target had been failing for six days (TARGET_PAUSE_AFTER_MS is 5 days by default)
    await hub.dataSource.query(`UPDATE target_health SET failing_since = now() - interval '6 days' WHERE target_key = $1`, [broken.url]);
    await ingest('long-2');
    const view = await waitFor(async () => {
      const body = (await hub.call('GET', `/subscriptions/${sub.id}`)).body;
      return body.pausedReason ? body : undefined;
    }, 'the subscription to be paused');
    assert.match(view.pausedReason, new RegExp(`target health: ${broken.url.replace(/\./g, '\\.')}`));
    assert.equal(view.target.target, broken.url);
    // paused: a new event makes no delivery for it
    const none = await ingest('long-3');
    assert.equal(none.length, 0);
  });
});
