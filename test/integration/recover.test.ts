import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

// POST /deliveries/recover answers at once with an id; a workflow redelivers in the background and
// GET /deliveries/recover/{id} reports its progress.
describe('bulk recovery in the background (real pipeline)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  const subs: Record<'a' | 'b', string> = { a: '', b: '' };

  before(async () => {
    hub = await Hub.start('recover');
    receiver = await new Receiver().start();
    for (const k of ['a', 'b'] as const) {
      const res = await hub.call('POST', '/subscriptions', {
        name: `recover ${k}`,
        provider: 'webhook',
        event: 'incident.created',
        config: { url: `${receiver.url}/${k}` },
        retryPolicy: { scheduleMs: [] },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      subs[k] = res.body.id;
    }
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  async function deliveriesOf(sub: string): Promise<{ id: string; status: string; attempts: number }[]> {
    return hub.dataSource.query('SELECT id, status, attempts FROM deliveries WHERE subscription_id = $1 ORDER BY id', [sub]);
  }

  it('redelivers the failed deliveries of one subscription and reports total, done and failed until done', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    receiver.fallback = () => ({ status: 503 });
    for (let i = 0; i < 12; i++) {
      const res = await hub.call('POST', '/ingest', { event: 'incident.created', id: `evt-recover-${i}`, payload: { incidentId: `r${i}`, title: 'Down', severity: 'major' } }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    await waitFor(async () => {
      const all = [...(await deliveriesOf(subs.a)), ...(await deliveriesOf(subs.b))];
      return all.length === 24 && all.every((d) => d.status === 'failed');
    }, 'all 24 deliveries to fail', 60_000, 200);
    receiver.fallback = () => ({ status: 200 });
    const sentBefore = receiver.at('/a').length;

    // with no worker nothing can happen in the background: the request still answers at once
    await hub.stopWorker();
    let started;
    try {
      started = await hub.call('POST', '/deliveries/recover', { subscriptionId: subs.a, status: 'failed', since });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.match(started.body.id, /^rcv_/);
      assert.equal(started.headers.get('location'), `/api/v1/deliveries/recover/${started.body.id}`);
      assert.equal(started.body.status, 'running');
      assert.equal(started.body.total, 12);
      assert.equal(started.body.count, 12);
      assert.equal(started.body.filter.subscriptionId, subs.a);
      assert.ok(started.body.filter.until, 'the end of the selection is fixed');
      const waiting = await hub.call('GET', `/deliveries/recover/${started.body.id}`);
      assert.equal(waiting.status, 200);
      assert.deepEqual([waiting.body.status, waiting.body.done, waiting.body.failed], ['running', 0, 0]);
      assert.equal(receiver.at('/a').length, sentBefore, 'nothing was redelivered inside the request');
    } finally {
      await hub.startWorker();
    }

    const seen = new Set<number>();
    const done = await waitFor(async () => {
      const r = await hub.call('GET', `/deliveries/recover/${started.body.id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.done + r.body.failed <= r.body.total, JSON.stringify(r.body));
      seen.add(r.body.done);
      return r.body.status === 'done' ? r.body : undefined;
    }, 'the recovery to finish', 60_000, 100);
    assert.deepEqual([done.total, done.done, done.failed, done.error], [12, 12, 0, null]);
    assert.ok(done.finishedAt);

    await waitFor(async () => (await deliveriesOf(subs.a)).every((d) => d.status === 'success' && d.attempts === 2), 'subscription a redelivered', 60_000, 200);
    assert.ok((await deliveriesOf(subs.b)).every((d) => d.status === 'failed' && d.attempts === 1), 'the other subscription was left alone');
    const log = await hub.call('GET', `/deliveries/${(await deliveriesOf(subs.a))[0].id}`);
    assert.deepEqual(log.body.attemptLog.map((a: { trigger: string }) => a.trigger), ['scheduled', 'manual']);
  });

  it('answers 404 for an unknown recovery and 400 naming the field for a bad request', async () => {
    const missing = await hub.call('GET', '/deliveries/recover/rcv_nope');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /problem\+json/);
    const bad = await hub.call('POST', '/deliveries/recover', { status: 'success', since: new Date().toISOString() });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /status/);
  });

  it('is described in the served OpenAPI document', async () => {
    const doc = await hub.call('GET', '/openapi.json', undefined, null);
    assert.ok(doc.body.paths['/deliveries/recover/{id}']?.get, Object.keys(doc.body.paths).join(', '));
    assert.ok(doc.body.paths['/deliveries/recover'].post.responses['202']);
    // named schemas are components: follow the $ref to the recovery's properties
    const ref: string = doc.body.paths['/deliveries/recover/{id}'].get.responses['200'].content['application/json'].schema.$ref;
    const recovery = doc.body.components.schemas[ref.replace('#/components/schemas/', '')];
    for (const field of ['total', 'done', 'failed', 'status']) assert.ok(recovery.properties[field], `${ref} has no ${field}`);
  });
});
