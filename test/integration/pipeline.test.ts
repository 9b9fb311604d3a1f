import assert from 'node:assert/strict';
import { WebhookSigner } from '../../providers/webhook';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const SIGNING_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BEARER = 'bearer-secret-value-7f3a9c1e55';

describe('delivery pipeline (real Temporal, PostgreSQL and HTTP)', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;

  before(async () => {
    hub = await Hub.start('pipeline');
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
  // a failed test must not leave a subscription behind that would take the next test's events
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
  });

  async function subscribe(path: string, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) {
    const res = await hub.call('POST', '/subscriptions', {
      name: `to ${path}`,
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${receiver.url}${path}`, auth: { type: 'bearer', token: BEARER }, signing: { secrets: [SIGNING_SECRET] }, ...config },
      retryPolicy: { scheduleMs: [200, 200, 200] },
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  function incident(id: string, systemIds = ['sys-a']) {
    return { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds } };
  }

  async function delivered(deliveryId: string, status = 'success') {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${deliveryId} to be ${status}`);
  }

  it('delivers an event end to end: signed, authenticated, recorded with its attempt', async () => {
    const sub = await subscribe('/e2e');
    const res = await hub.call('POST', '/ingest', incident('evt-e2e'), INGEST_TOKEN);
    assert.equal(res.status, 202);
    assert.equal(res.body.deliveries.length, 1);
    assert.equal(res.body.deliveries[0].subscriptionId, sub.id);
    const d = await delivered(res.body.deliveries[0].id);
    const got = receiver.at('/e2e');
    assert.equal(got.length, 1);
    assert.equal(got[0].headers.authorization, `Bearer ${BEARER}`);
    assert.equal(got[0].headers['webhook-id'], d.id);
    new WebhookSigner(SIGNING_SECRET).verify(got[0].body, got[0].headers as Record<string, string>);
    const body = JSON.parse(got[0].body);
    assert.equal(body.type, 'incident.created');
    assert.equal(body.data.title, 'Outage evt-e2e');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog.length, 1);
    assert.equal(d.attemptLog[0].outcome, 'success');
    assert.equal(d.attemptLog[0].httpStatus, 200);
    assert.match(d.temporalUrl, /\/namespaces\/default\/workflows\/delivery%3Aevt-e2e%3A/);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('retries 503, 503 then 200: three attempts, success, and nextRetryAt set while retrying', async () => {
    const sub = await subscribe('/flaky');
    receiver.script.push({ status: 503 }, { status: 503 });
    const res = await hub.call('POST', '/ingest', incident('evt-flaky'));
    const id = res.body.deliveries[0].id;
    const retrying = await waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${id}`);
      return d.body.status === 'retrying' ? d.body : undefined;
    }, 'retrying', 20_000, 10);
    assert.ok(retrying.nextRetryAt, 'nextRetryAt is set while retrying');
    assert.ok(Date.parse(retrying.nextRetryAt) > Date.parse(retrying.lastAttemptAt));
    const d = await delivered(id);
    assert.equal(d.attempts, 3);
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
      ['retryable', 503],
      ['retryable', 503],
      ['success', 200],
    ]);
    assert.equal(d.nextRetryAt, null);
    assert.equal(d.error, null);
    const ids = new Set(receiver.at('/flaky').map((r) => r.headers['webhook-id']));
    assert.deepEqual([...ids], [id], 'the same webhook-id on every attempt');
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('does not retry a 429 with Retry-After: 2 sooner than 2 seconds', async () => {
    const sub = await subscribe('/limited');
    receiver.script.push({ status: 429, headers: { 'retry-after': '2' } });
    const res = await hub.call('POST', '/ingest', incident('evt-429'));
    await delivered(res.body.deliveries[0].id);
    const [first, second] = receiver.at('/limited');
    assert.ok(second.at - first.at >= 2000, `second attempt came after ${second.at - first.at} ms`);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('fails a 400 after one attempt', async () => {
    const sub = await subscribe('/bad');
    receiver.script.push({ status: 400, body: 'bad request: missing field' });
    const res = await hub.call('POST', '/ingest', incident('evt-400'));
    const d = await delivered(res.body.deliveries[0].id, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(receiver.at('/bad').length, 1);
    assert.match(d.error, /400/);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('pauses the subscription when the receiver answers 410', async () => {
    const sub = await subscribe('/gone');
    receiver.script.push({ status: 410 });
    const res = await hub.call('POST', '/ingest', incident('evt-410'));
    await delivered(res.body.deliveries[0].id, 'failed');
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.match(s.body.pausedReason, /410/);
    // a paused subscription receives nothing new
    const again = await hub.call('POST', '/ingest', incident('evt-410-b'));
    assert.equal(again.body.deliveries.length, 0);
    // enabling it again clears the pause
    const resumed = await hub.call('PATCH', `/subscriptions/${sub.id}`, { enabled: true });
    assert.equal(resumed.body.pausedReason, null);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('delivers the same emission id once, answering 200 with the same body the second time', async () => {
    const sub = await subscribe('/once');
    const first = await hub.call('POST', '/ingest', incident('evt-once'));
    const second = await hub.call('POST', '/ingest', incident('evt-once'));
    assert.equal(first.status, 202);
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body);
    await delivered(first.body.deliveries[0].id);
    const rows = await hub.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE emission_id = 'evt-once'`);
    assert.equal(rows[0].n, 1);
    assert.equal(receiver.at('/once').length, 1);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('honours the system filter and disabled subscriptions', async () => {
    const scoped = await subscribe('/scoped', { systemIds: ['sys-b'] });
    const disabled = await subscribe('/disabled', { enabled: false });
    const other = await hub.call('POST', '/ingest', incident('evt-filter-a', ['sys-a']));
    assert.deepEqual(other.body.deliveries, []);
    const single = await hub.call('POST', '/ingest', {
      event: 'incident.created',
      id: 'evt-filter-b',
      payload: { incidentId: 'x', title: 't', severity: 'minor', systemId: 'sys-b' },
    });
    assert.equal(single.body.deliveries.length, 1);
    assert.equal(single.body.deliveries[0].subscriptionId, scoped.id);
    await delivered(single.body.deliveries[0].id);
    assert.equal(receiver.at('/disabled').length, 0);
    await hub.call('DELETE', `/subscriptions/${scoped.id}`);
    await hub.call('DELETE', `/subscriptions/${disabled.id}`);
  });

  it('wakes a retrying delivery at once on retry, recording a manual attempt', async () => {
    const sub = await subscribe('/wake', { retryPolicy: { scheduleMs: [3_600_000] } });
    receiver.script.push({ status: 503 });
    const res = await hub.call('POST', '/ingest', incident('evt-wake'));
    const id = res.body.deliveries[0].id;
    await delivered(id, 'retrying');
    const r = await hub.call('POST', `/deliveries/${id}/retry`);
    assert.equal(r.status, 202);
    assert.equal(r.body.action, 'woken');
    const d = await delivered(id);
    assert.deepEqual(d.attemptLog.map((a: { trigger: string }) => a.trigger), ['scheduled', 'manual']);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('cancels a retrying delivery: failed, with the reason, no more attempts', async () => {
    const sub = await subscribe('/cancel', { retryPolicy: { scheduleMs: [3_600_000] } });
    receiver.script.push({ status: 503 });
    const res = await hub.call('POST', '/ingest', incident('evt-cancel'));
    const id = res.body.deliveries[0].id;
    await delivered(id, 'retrying');
    const c = await hub.call('POST', `/deliveries/${id}/cancel`);
    assert.equal(c.status, 202);
    const d = await delivered(id, 'failed');
    assert.match(d.error, /[Cc]ancelled/);
    assert.equal(d.nextRetryAt, null);
    assert.equal((await hub.call('POST', `/deliveries/${id}/cancel`)).status, 409);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('answers a burst of retries of a delivery that fails at once without a 500 (found by npm run fuzz)', async () => {
    const sub = await subscribe('/burst');
    receiver.fallback = (r) => (r.url.startsWith('/burst') ? { status: 400, body: 'no' } : { status: 200, body: '{"ok":true}' });
    try {
      const res = await hub.call('POST', '/ingest', incident('evt-burst'));
      const id = res.body.deliveries[0].id;
      await delivered(id, 'failed');
      // each retry starts a run that fails at once, so the next retry meets a run that is just finishing
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 4 }, () => hub.call('POST', `/deliveries/${id}/retry`)));
        for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
      }
      const unexpected = hub.logs.filter((l) => l.includes('unexpected error in request'));
      assert.deepEqual(unexpected, []);
    } finally {
      receiver.fallback = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
      await hub.call('DELETE', `/subscriptions/${sub.id}`);
    }
  });

  it('sends a successful delivery again on retry, marked as a manual attempt', async () => {
    const sub = await subscribe('/again');
    const res = await hub.call('POST', '/ingest', incident('evt-again'));
    const id = res.body.deliveries[0].id;
    await delivered(id);
    const r = await hub.call('POST', `/deliveries/${id}/retry`);
    // the workflow may still be closing after recording success (woken) or already closed (restarted)
    assert.ok(['woken', 'restarted'].includes(r.body.action), r.body.action);
    const d = await waitFor(async () => {
      const x = await hub.call('GET', `/deliveries/${id}`);
      return x.body.attempts === 2 && x.body.status === 'success' ? x.body : undefined;
    }, 'second attempt');
    assert.equal(d.attemptLog[1].trigger, 'manual');
    assert.equal(receiver.at('/again').length, 2);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('survives the worker stopping in the middle of a retry loop', async () => {
    const sub = await subscribe('/restart', { retryPolicy: { scheduleMs: [1500] } });
    receiver.script.push({ status: 503 });
    const res = await hub.call('POST', '/ingest', incident('evt-restart'));
    const id = res.body.deliveries[0].id;
    await delivered(id, 'retrying');
    await hub.stopWorker();
    await hub.startWorker();
    const d = await delivered(id);
    assert.equal(d.attempts, 2);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('sends a test delivery of the example through the pipeline', async () => {
    const sub = await subscribe('/test-send', { enabled: false });
    const r = await hub.call('POST', `/subscriptions/${sub.id}/test`);
    assert.equal(r.status, 202);
    const d = await delivered(r.body.deliveryId);
    assert.equal(d.test, true);
    assert.equal(receiver.at('/test-send').length, 1);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('recovers failed deliveries in a time range', async () => {
    const since = new Date().toISOString();
    const sub = await subscribe('/recover');
    receiver.script.push({ status: 400 });
    const res = await hub.call('POST', '/ingest', incident('evt-recover'));
    const id = res.body.deliveries[0].id;
    await delivered(id, 'failed');
    const r = await hub.call('POST', '/deliveries/recover', { status: 'failed', subscriptionId: sub.id, since });
    assert.equal(r.status, 202);
    assert.equal(r.body.count, 1);
    await delivered(id);
    const stats = await hub.call('GET', '/deliveries/stats?hours=1');
    assert.ok(stats.body.byStatus.success >= 1);
    assert.ok(stats.body.byProvider.webhook.total >= 1);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('never lets a secret reach the database in plaintext, responses, logs or Temporal history', async () => {
    const sub = await subscribe('/secret');
    // the receiver echoes the bearer token back in its error
    receiver.script.push({ status: 400, body: JSON.stringify({ error: `invalid token Bearer ${BEARER}` }) });
    const res = await hub.call('POST', '/ingest', incident('evt-secret'));
    const d = await delivered(res.body.deliveries[0].id, 'failed');
    const secrets = [BEARER, SIGNING_SECRET, SIGNING_SECRET.slice(6)];
    const dump = JSON.stringify(await hub.dataSource.query(`SELECT * FROM subscriptions`)) +
      JSON.stringify(await hub.dataSource.query(`SELECT * FROM deliveries`)) +
      JSON.stringify(await hub.dataSource.query(`SELECT * FROM delivery_attempts`));
    const api = JSON.stringify((await hub.call('GET', `/subscriptions/${sub.id}`)).body) + JSON.stringify(d) +
      JSON.stringify((await hub.call('GET', '/deliveries')).body);
    const history = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(history, d);
    const hist = historyText(history);
    for (const s of secrets) {
      assert.ok(!dump.includes(s), 'database');
      assert.ok(!api.includes(s), 'API');
      assert.ok(!hub.logs.join('\n').includes(s), 'logs');
      assert.ok(!hist.includes(s) && !hist.includes(Buffer.from(s).toString('base64')), 'history');
    }
    assert.ok(hub.logs.length > 0, 'logs were captured');
    assert.ok(hist.length > 1000, 'history was fetched');
    assert.match(d.error, /400/);
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
  });

  it('keeps ADMIN_TOKEN out of reach of an ingest token', async () => {
    const r = await hub.call('GET', '/subscriptions', undefined, INGEST_TOKEN);
    assert.equal(r.status, 403);
    assert.equal((await hub.call('GET', '/subscriptions', undefined, ADMIN_TOKEN)).status, 200);
  });
});
