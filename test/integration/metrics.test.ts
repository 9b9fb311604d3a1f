import assert from 'node:assert/strict';
import { METRIC_NAMES } from '../../src/metrics/deliveries';
import { serveMetrics } from '../../src/metrics/server';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { sampleValue, scrape, type Sample } from '../support/prometheus';

describe('Prometheus metrics after real deliveries', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('metrics');
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.script.length = 0;
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  const metrics = () => scrape(`${hub.baseUrl}/metrics`);
  const value = (s: Sample[], name: string, labels: Record<string, string> = {}) => sampleValue(s, name, labels) ?? 0;

  async function subscribe(path: string, scheduleMs = [200, 200, 200]) {
    const res = await hub.call('POST', '/subscriptions', {
      name: `to ${path}`,
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}${path}` },
      retryPolicy: { scheduleMs },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  async function ingest(id: string): Promise<string> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'major' } }, INGEST_TOKEN);
    assert.equal(res.status, 202);
    return res.body.deliveries[0].id;
  }

  async function ended(deliveryId: string, status: string) {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${deliveryId} to be ${status}`);
  }

  it('counts a success, its attempt duration and its event-to-delivered latency', async () => {
    await subscribe('/ok');
    const before = await metrics();
    receiver.script.push({ status: 503 });
    await ended(await ingest('evt-metrics-ok'), 'success');
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta(METRIC_NAMES.deliveries, { provider: 'webhook', outcome: 'success' }), 1);
    assert.equal(delta(`${METRIC_NAMES.attemptDuration}_count`, { provider: 'webhook', outcome: 'retryable' }), 1);
    assert.equal(delta(`${METRIC_NAMES.attemptDuration}_count`, { provider: 'webhook', outcome: 'success' }), 1);
    assert.ok(delta(`${METRIC_NAMES.attemptDuration}_sum`, { provider: 'webhook', outcome: 'success' }) > 0, 'the attempt took some time');
    assert.equal(delta(`${METRIC_NAMES.eventToDelivered}_count`, { provider: 'webhook' }), 1);
    // received, a 503, a 200 ms wait, a 200: at least the wait, and well under a minute
    const latency = delta(`${METRIC_NAMES.eventToDelivered}_sum`, { provider: 'webhook' });
    assert.ok(latency >= 0.2 && latency < 60, `latency ${latency} s`);
    assert.equal(delta(`${METRIC_NAMES.eventToDelivered}_bucket`, { provider: 'webhook', le: '+Inf' }), 1);
  });

  it('counts a permanent failure as a failed delivery', async () => {
    await subscribe('/bad');
    const before = await metrics();
    receiver.script.push({ status: 400 });
    await ended(await ingest('evt-metrics-bad'), 'failed');
    const after = await metrics();
    assert.equal(value(after, METRIC_NAMES.deliveries, { provider: 'webhook', outcome: 'failed' }) - value(before, METRIC_NAMES.deliveries, { provider: 'webhook', outcome: 'failed' }), 1);
    assert.equal(
      value(after, `${METRIC_NAMES.attemptDuration}_count`, { provider: 'webhook', outcome: 'permanent' }) -
        value(before, `${METRIC_NAMES.attemptDuration}_count`, { provider: 'webhook', outcome: 'permanent' }),
      1,
    );
    // no latency for a delivery that did not succeed
    assert.equal(value(after, `${METRIC_NAMES.eventToDelivered}_count`, { provider: 'webhook' }), value(before, `${METRIC_NAMES.eventToDelivered}_count`, { provider: 'webhook' }));
  });

  it('shows the retrying backlog and the age of its oldest delivery, from PostgreSQL at scrape time', async () => {
    await subscribe('/down', [60_000]);
    receiver.fallback = () => ({ status: 503 });
    try {
      const id = await ingest('evt-metrics-retrying');
      await ended(id, 'retrying');
      const first = await metrics();
      assert.equal(value(first, METRIC_NAMES.backlog, { status: 'retrying' }), 1);
      const age = await waitFor(async () => {
        const s = await metrics();
        const a = value(s, METRIC_NAMES.oldestPendingAge, { status: 'retrying' });
        return a >= 1 ? a : undefined;
      }, 'the oldest retrying delivery to be a second old');
      assert.ok(age < 60, `age ${age}`);
      const cancelled = await hub.call('POST', `/deliveries/${id}/cancel`);
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
      await ended(id, 'failed');
      const last = await metrics();
      assert.equal(value(last, METRIC_NAMES.backlog, { status: 'retrying' }), 0);
      assert.equal(value(last, METRIC_NAMES.oldestPendingAge, { status: 'retrying' }), 0);
    } finally {
      receiver.fallback = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    }
  });

  it('shows deliveries waiting for a worker as pending', async () => {
    await subscribe('/later');
    await hub.stopWorker();
    let id: string;
    try {
      id = await ingest('evt-metrics-pending');
      const s = await waitFor(async () => {
        const m = await metrics();
        return value(m, METRIC_NAMES.oldestPendingAge, { status: 'pending' }) > 0 ? m : undefined;
      }, 'an oldest pending age');
      assert.equal(value(s, METRIC_NAMES.backlog, { status: 'pending' }), 1);
    } finally {
      await hub.startWorker();
    }
    await ended(id, 'success');
    const after = await metrics();
    assert.equal(value(after, METRIC_NAMES.backlog, { status: 'pending' }), 0);
    assert.equal(value(after, METRIC_NAMES.oldestPendingAge, { status: 'pending' }), 0);
  });

  it('serves the same registry on a worker metrics port, /metrics only', async () => {
    const server = await serveMetrics(hub.metrics, 0, '127.0.0.1');
    try {
      const samples = await scrape(`http://127.0.0.1:${server.port}/metrics`);
      assert.ok(value(samples, METRIC_NAMES.deliveries, { provider: 'webhook', outcome: 'success' }) >= 1);
      assert.ok(samples.some((s) => s.name === METRIC_NAMES.openCircuits));
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
