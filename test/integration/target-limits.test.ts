import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/** The most requests seen in any window of `windowMs` (each window starting at a request). */
function busiestWindow(times: number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** A receiver that allows `perSecond` requests in any second and answers 429 with Retry-After above that. */
async function limitedReceiver(perSecond: number): Promise<Receiver> {
  const r = await new Receiver().start();
  r.fallback = (req) => {
    const recent = r.received.filter((x) => x.at > req.at - 1000).length; // this request included
    return recent > perSecond ? { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' } : { status: 200, body: '{"ok":true}' };
  };
  return r;
}

describe('rate limits per destination (real Temporal, PostgreSQL and HTTP)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('target-limits');
  });
  after(async () => {
    await hub?.close();
  });
  afterEach(async () => {
    await receiver?.stop();
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  async function subscribe(path: string) {
    const res = await hub.call('POST', '/subscriptions', {
      name: `to ${path}`,
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}${path}` },
      retryPolicy: { scheduleMs: [200, 200, 200, 200, 200] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  async function ingest(id: string): Promise<string[]> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'major', systemIds: ['sys-a'] } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return (res.body.deliveries as { id: string }[]).map((d) => d.id);
  }

  async function allSucceed(ids: string[]) {
    return Promise.all(
      ids.map((id) =>
        waitFor(async () => {
          const d = await hub.call('GET', `/deliveries/${id}`);
          return d.body.status === 'success' ? d.body : undefined;
        }, `delivery ${id} to succeed`, 60_000),
      ),
    );
  }

  const limitPath = (key: string) => `/targets/${encodeURIComponent(key)}/limit`;

  it('honours a configured limit across all deliveries to the target: none above it, every delivery succeeds', async () => {
    receiver = await limitedReceiver(5);
    const put = await hub.call('PUT', limitPath(receiver.url), { requestsPerSecond: 5 });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.targetKey, receiver.url);
    assert.equal(put.body.requestsPerSecond, 5);
    for (let i = 0; i < 10; i++) await subscribe(`/limited/${i}`);

    const ids = await ingest('evt-limited');
    assert.equal(ids.length, 10);
    const done = await allSucceed(ids);

    const times = receiver.received.map((r) => r.at);
    const gaps = [...times].sort((x, y) => x - y).map((t, i, all) => (i ? t - all[i - 1] : 0));
    assert.equal(receiver.received.length, 10, `one request per delivery, none refused with 429 (gaps ${gaps.join(', ')} ms)`);
    assert.ok(busiestWindow(times) <= 5, `at most 5 requests in any second, saw ${busiestWindow(times)}`);
    for (const d of done) assert.equal(d.attempts, 1, 'a wait for the limit is not a failed attempt');
    // 10 requests at 5/s cannot all go within the first second
    assert.ok(Math.max(...times) - Math.min(...times) >= 1000);

    const del = await hub.call('DELETE', limitPath(receiver.url));
    assert.equal(del.status, 204);
  });

  it('a 429 with Retry-After from the target holds the other subscriptions to it until the window passes', async () => {
    receiver = await new Receiver().start();
    receiver.script.push({ status: 429, headers: { 'retry-after': '3' }, body: 'slow down' });
    await subscribe('/first');
    const [first] = await ingest('evt-learn-1');
    const refused = await waitFor(async () => receiver.received[0], 'the first request');

    const learned = await waitFor(async () => {
      const t = await hub.call('GET', limitPath(receiver.url));
      return t.status === 200 ? t.body : undefined;
    }, 'the learned limit');
    assert.equal(learned.learnedStatus, 429);
    assert.equal(learned.requestsPerSecond, null);
    assert.ok(Date.parse(learned.blockedUntil) >= refused.at + 2_990);

    await subscribe('/second');
    const ids = await ingest('evt-learn-2');
    assert.equal(ids.length, 2);
    const done = await allSucceed([first, ...ids]);

    const toSecond = receiver.at('/second');
    assert.equal(toSecond.length, 1);
    assert.ok(toSecond[0].at >= refused.at + 2_990, `the other subscription waited: ${toSecond[0].at - refused.at} ms after the 429`);
    for (const r of receiver.received.slice(1)) assert.ok(r.at >= refused.at + 2_990, 'no request to the target inside the window');
    assert.equal(done[0].attempts, 2, 'the refused delivery retried once');
    for (const d of done.slice(1)) assert.equal(d.attempts, 1, 'the wait is not a failed attempt');
    const listed = await hub.call('GET', '/targets/limits');
    assert.ok(listed.body.items.some((t: { targetKey: string }) => t.targetKey === receiver.url));
  });

  it('refuses a bad limit with problem+json naming the field', async () => {
    receiver = await new Receiver().start();
    const res = await hub.call('PUT', limitPath(receiver.url), { requestsPerSecond: -1 });
    assert.equal(res.status, 400);
    assert.ok(JSON.stringify(res.body.errors).includes('requestsPerSecond'));
    const missing = await hub.call('GET', limitPath('http://never.example'));
    assert.equal(missing.status, 404);
  });
});
