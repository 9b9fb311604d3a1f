import assert from 'node:assert/strict';
import { scriptProvider, sharedSandboxPool } from '../../providers/script';
import { Receiver } from '../fakes/receiver';
import { INGEST_TOKEN, waitFor, type Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const API_KEY = 'script-api-key-5d2e8a1f9b';
/** What an attempt may take beyond its limit on a busy machine. */
const MARGIN_MS = 3000;

describe('script provider through the pipeline (real Temporal, PostgreSQL, QuickJS)', function () {
  this.timeout(120_000);
  // the receiver's requests are cleared before each test
  const suite = pipelineSuite({ database: 'provider_script', fake: () => new Receiver().start(), providers: [scriptProvider] });
  let hub: Hub;
  let receiver: Receiver;
  before(() => {
    ({ hub, fake: receiver } = suite);
  });

  const subscribe = (source: string, config: Record<string, unknown> = {}) => suite.subscribe({
    name: 'script sub',
    provider: 'script',
    event: 'incident.created',
    config: { source, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (id: string) => suite.ingest('incident.created', id, { incidentId: id, title: `Outage ${id}`, severity: 'major', systemIds: ['sys-a'] });
  const finished = (deliveryId: string, status: 'success' | 'failed') => suite.settled(deliveryId, status);

  it('runs the script: fetch with a secret header, external id recorded, console in the attempt log, secret nowhere', async () => {
    const sub = await subscribe(
      `async function deliver(event, ctx) {
        console.log('sending', event.payload.title, 'with key', ctx.secrets.API_KEY);
        const res = await fetch(${JSON.stringify(`${receiver.url}/script`)}, {
          method: 'POST',
          headers: { 'x-api-key': ctx.secrets.API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ title: event.payload.title, eventId: event.id, deliveryId: event.deliveryId }),
        });
        if (!res.ok) throw new RetryableError('receiver answered ' + res.status);
        return { externalId: 'rcv-' + event.id };
      }`,
      { secrets: { API_KEY } },
    );
    const id = await ingest('evt-script-ok');
    const d = await finished(id, 'success');

    const [req] = receiver.at('/script');
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['x-api-key'], API_KEY);
    assert.deepEqual(JSON.parse(req.body), { title: 'Outage evt-script-ok', eventId: 'evt-script-ok', deliveryId: id });
    assert.equal(d.externalId, 'rcv-evt-script-ok');
    assert.equal(d.attemptLog.length, 1);
    assert.match(d.attemptLog[0].log, /^\[log\] sending Outage evt-script-ok with key \*\*\*\n\[hub\] fetch POST http:\/\/127\.0\.0\.1:\d+\/script -> 200 in \d+ ms$/);

    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.deepEqual(s.body.config.secrets, { API_KEY: { set: true } });
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts'));
    const api = JSON.stringify(s.body) + JSON.stringify(d) + JSON.stringify((await hub.call('GET', '/deliveries')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    assert.ok(!dump.includes(API_KEY), 'database');
    assert.ok(!api.includes(API_KEY), 'API');
    assert.ok(!hub.logs.join('\n').includes(API_KEY), 'logs');
    assert.ok(!history.includes(API_KEY) && !history.includes(Buffer.from(API_KEY).toString('base64')), 'history');
    assert.ok(history.length > 1000 && hub.logs.length > 0, 'history and logs were read');
  });

  it('refuses a script with a syntax error at save time, naming its line and column', async () => {
    const res = await hub.call('POST', '/subscriptions', {
      name: 'broken',
      provider: 'script',
      event: 'incident.created',
      config: { source: 'async function deliver(event) {\n  return event.;\n}' },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors, [{ path: 'config.source', message: 'line 2, column 16: Identifier expected.' }]);
  });

  it('stops an infinite loop within its limit, fails it without retrying, and delivers the next event', async () => {
    await subscribe('async function deliver() { while (true) {} }', { timeoutMs: 500 });
    const id = await ingest('evt-script-loop');
    const d = await finished(id, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].errorCode, 'script_timeout');
    assert.ok(d.attemptLog[0].durationMs >= 500 && d.attemptLog[0].durationMs < 500 + MARGIN_MS, `took ${d.attemptLog[0].durationMs} ms`);
    await hub.dataSource.query('DELETE FROM subscriptions');

    await subscribe('async function deliver(event) { return "after-" + event.id }');
    const next = await finished(await ingest('evt-script-after-loop'), 'success');
    assert.equal(next.externalId, 'after-evt-script-after-loop');
  });

  it('stops a memory bomb at its limit without harming the worker', async () => {
    await subscribe('async function deliver() { const keep = []; for (;;) keep.push(new Uint8Array(1 << 20)); }', { memoryLimitMb: 16, timeoutMs: 10_000 });
    const d = await finished(await ingest('evt-script-bomb'), 'failed');
    assert.deepEqual([d.attempts, d.attemptLog[0].errorCode], [1, 'script_memory']);
    assert.match(d.error, /more than 16 MiB/);
    await hub.dataSource.query('DELETE FROM subscriptions');

    await subscribe('function deliver() { return "still-here" }');
    assert.equal((await finished(await ingest('evt-script-after-bomb'), 'success')).externalId, 'still-here');
  });

  it('refuses fetch to the cloud metadata address as a permanent failure', async () => {
    await subscribe(`async function deliver() { await fetch('http://169.254.169.254/latest/meta-data/iam/') }`);
    const d = await finished(await ingest('evt-script-ssrf'), 'failed');
    assert.deepEqual([d.attempts, d.attemptLog[0].errorCode], [1, 'ssrf_blocked']);
    assert.match(d.error, /^FetchError: .*169\.254\.169\.254/);
  });

  it('retries a RetryableError no sooner than its retryAfterMs, then succeeds', async () => {
    await subscribe(`async function deliver(event) {
      if (event.attempt === 1) throw new RetryableError('not yet', { retryAfterMs: 1500 });
      return 'attempt-' + event.attempt;
    }`);
    const d = await finished(await ingest('evt-script-retry'), 'success');
    assert.deepEqual(d.attemptLog.map((a: { outcome: string }) => a.outcome), ['retryable', 'success']);
    assert.equal(d.attemptLog[0].error, 'RetryableError: not yet (line 2)');
    const gap = Date.parse(d.attemptLog[1].startedAt) - Date.parse(d.attemptLog[0].startedAt);
    assert.ok(gap >= 1500, `second attempt after ${gap} ms`);
    assert.equal(d.externalId, 'attempt-2');
  });

  it('pauses the subscription when the script throws PermanentError with pauseSubscription', async () => {
    const sub = await subscribe(`function deliver() { throw new PermanentError('the team channel was deleted', { pauseSubscription: true }) }`);
    const d = await finished(await ingest('evt-script-pause'), 'failed');
    assert.equal(d.attempts, 1);
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.equal(s.body.pausedReason, 'The script asked to pause: the team channel was deleted');
  });

  it("keeps one subscription's busy loops to its share of the sandbox pool: another subscription's script runs at once", async () => {
    const pool = sharedSandboxPool();
    assert.equal(pool.share, Math.max(1, Math.floor(pool.options.maxThreads / 2)));
    const HOG_MS = 6000;
    await subscribe('async function deliver() { while (true) {} }', { timeoutMs: HOG_MS });
    const hog = await Promise.all([1, 2, 3].map((n) => ingest(`evt-script-hog-${n}`)));
    // the hog's runs hold what they may of the pool; the rest of them wait
    await waitFor(async () => pool.stats().busy >= 1 && pool.stats().queued >= 1, 'the busy loops to hold the pool');
    const victim = await hub.call('POST', '/subscriptions', {
      name: 'victim', provider: 'script', event: 'incident.updated', config: { source: 'async function deliver(event) { return "ok-" + event.id }' },
    });
    assert.equal(victim.status, 201, JSON.stringify(victim.body));
    const started = Date.now();
    const example = (await hub.call('GET', '/events/incident.updated')).body.example;
    const res = await hub.call('POST', '/ingest', { event: 'incident.updated', id: 'evt-script-victim', payload: example }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const d = await finished(res.body.deliveries[0].id, 'success');
    const waited = Date.now() - started;
    assert.equal(d.externalId, 'ok-evt-script-victim');
    assert.ok(waited < HOG_MS - 2000, `the other subscription's script waited ${waited} ms behind the busy loops`);
    // the hog's own runs still end, one after the other, as timeouts (not sandbox_busy)
    for (const id of hog) assert.equal((await finished(id, 'failed')).attemptLog[0].errorCode, 'script_timeout');
  });
});
