import assert from 'node:assert/strict';
import net from 'node:net';
import { discordProvider } from '../../providers/discord';
import { scriptProvider } from '../../providers/script';
import { shellProvider } from '../../providers/shell';
import { teamsProvider } from '../../providers/teams';
import type { TargetHealth } from '../../src/targets/health';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { getStack } from '../support/stack';

// Answers PostgreSQL cannot store as they come (NUL, over-long codes) and payloads it cannot take: each ends
// in a clear final state within a minute, with a log that tells what happened (issue 18, "poison").
const WITHIN_MS = 60_000;

describe('poisoned answers and inputs end in a clear state (real Temporal, PostgreSQL and HTTP)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let raw: net.Server;
  let rawUrl: string;

  before(async () => {
    hub = await Hub.start('poison', {}, [discordProvider, scriptProvider, shellProvider, teamsProvider]);
    receiver = await new Receiver().start();
    // a receiver that answers with a NUL inside its header values, which no HTTP library would send
    raw = net.createServer((socket) => {
      socket.once('data', () =>
        socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\u0000\r\nX-Note: a\u0000b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno'),
      );
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    rawUrl = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
    raw?.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.script.length = 0;
  });
  afterEach(async () => {
    await hub.dataSource.query('DELETE FROM subscriptions');
    await hub.dataSource.query('ALTER TABLE delivery_attempts DROP CONSTRAINT IF EXISTS poison_check');
  });

  async function subscribe(provider: string, config: Record<string, unknown>, scheduleMs = [200, 200], extra: Record<string, unknown> = {}) {
    const res = await hub.call('POST', '/subscriptions', { name: `poison ${provider}`, provider, event: 'incident.created', config, retryPolicy: { scheduleMs }, ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string };
  }

  async function ingest(id: string): Promise<{ id: string; workflowId: string }> {
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: `Outage ${id}`, severity: 'major' } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.deliveries.length, 1);
    const d = await hub.call('GET', `/deliveries/${res.body.deliveries[0].id}`);
    return { id: d.body.id, workflowId: d.body.workflowId };
  }

  async function ended(deliveryId: string, status: 'success' | 'failed' | 'retrying') {
    return waitFor(async () => {
      const d = await hub.call('GET', `/deliveries/${deliveryId}`);
      return d.body.status === status ? d.body : undefined;
    }, `delivery ${deliveryId} to be ${status}`, WITHIN_MS, 100);
  }

  /** Waits until the delivery's workflow has closed (not merely its row). */
  async function workflowClosed(workflowId: string) {
    const { client } = await getStack();
    return waitFor(async () => {
      const d = await client.workflow.getHandle(workflowId).describe();
      return d.status.name !== 'RUNNING' ? d.status.name : undefined;
    }, `workflow ${workflowId} to close`, WITHIN_MS, 100);
  }

  async function exhaustedEvent(deliveryId: string) {
    return waitFor(async () => {
      const rows: { payload: Record<string, unknown> }[] = await hub.dataSource.query(
        `SELECT payload FROM emissions WHERE event = 'hub.delivery.exhausted' AND payload->>'deliveryId' = $1`,
        [deliveryId],
      );
      return rows[0]?.payload;
    }, `hub.delivery.exhausted for ${deliveryId}`, WITHIN_MS, 100);
  }

  /** Nothing of the stored log holds a raw NUL (PostgreSQL would have refused it); escapes show where one was. */
  function assertNoNul(d: unknown) {
    assert.ok(!JSON.stringify(d).includes('\\u0000\\') && !JSON.stringify(d).includes('\u0000'), 'no raw NUL in the answer');
  }

  it('fails a 400 whose body holds a NUL after one attempt, the NUL shown escaped in the log', async () => {
    await subscribe('webhook', { url: `${receiver.url}/nul-400` });
    receiver.script.push({ status: 400, body: 'bad\u0000request' });
    const { id, workflowId } = await ingest('poison-400');
    const d = await ended(id, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].outcome, 'permanent');
    assert.equal(d.attemptLog[0].httpStatus, 400);
    assert.match(d.attemptLog[0].error, /HTTP 400: bad\\u0000request/);
    assert.match(d.error, /bad\\u0000request/);
    assertNoNul(d);
    await workflowClosed(workflowId);
  });

  it('retries a 503 whose body holds a NUL until its budget is spent, then fails and announces hub.delivery.exhausted', async () => {
    await subscribe('webhook', { url: `${receiver.url}/nul-503` });
    receiver.fallback = () => ({ status: 503, body: '\u0000busy\u0000' });
    try {
      const { id, workflowId } = await ingest('poison-503');
      const d = await ended(id, 'failed');
      assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
        ['retryable', 503], ['retryable', 503], ['retryable', 503],
      ]);
      assert.match(d.error, /HTTP 503: \\u0000busy\\u0000/);
      const event = await exhaustedEvent(id);
      assert.equal(event.attempts, 3);
      assert.match(String(event.error), /\\u0000busy/);
      await workflowClosed(workflowId);
    } finally {
      receiver.fallback = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    }
  });

  it('keeps an external id with a NUL from a Discord answer, escaped', async () => {
    await subscribe('discord', { webhookUrl: 'https://discord.com/api/webhooks/123456/tok_abcdef', apiBaseUrl: receiver.url });
    receiver.script.push({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: '9001\u0000x', channel_id: '1' }) });
    const { id, workflowId } = await ingest('poison-extid');
    const d = await ended(id, 'success');
    assert.equal(d.externalId, '9001\\u0000x');
    assert.equal(receiver.at('/webhooks/123456/tok_abcdef').length, 1);
    await workflowClosed(workflowId);
  });

  it('retries a receiver whose headers hold a NUL as a broken answer and ends failed', async () => {
    await subscribe('webhook', { url: `${rawUrl}/nul-header` });
    const { id, workflowId } = await ingest('poison-header');
    const d = await ended(id, 'failed');
    assert.equal(d.attempts, 3);
    for (const a of d.attemptLog) {
      assert.equal(a.outcome, 'retryable');
      assert.ok(a.error, 'each attempt says what went wrong');
    }
    assertNoNul(d);
    await workflowClosed(workflowId);
  });

  it("keeps a script's console output and external id with NULs, and its thrown NUL message, escaped", async () => {
    await subscribe('script', { source: `async function deliver(event) { console.log('out\\u0000put'); return { externalId: 'ext\\u0000id' }; }` });
    const ok = await ingest('poison-script-ok');
    const d = await ended(ok.id, 'success');
    assert.equal(d.externalId, 'ext\\u0000id');
    // the sandbox's console ends a string at its NUL; the rest of the line is lost, the attempt is not
    const log: string = (await hub.dataSource.query('SELECT log FROM delivery_attempts WHERE delivery_id = $1', [ok.id]))[0].log;
    assert.match(log, /^\[log\] out/);
    await hub.dataSource.query('DELETE FROM subscriptions');

    await subscribe('script', { source: `async function deliver() { console.log('\\u0000'); throw new PermanentError('no\\u0000way'); }` });
    const bad = await ingest('poison-script-bad');
    const failed = await ended(bad.id, 'failed');
    assert.match(failed.attemptLog[0].error, /no\\u0000way/);
    await workflowClosed(bad.workflowId);
  });

  it('keeps the output of a shell command printing NULs, escaped, and fails its non-zero exit', async () => {
    await subscribe('shell', { command: "printf 'one\\000two'; printf 'err\\000or' >&2; exit 3" });
    const { id, workflowId } = await ingest('poison-shell');
    const d = await ended(id, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].errorCode, 'exit_3');
    const log: string = (await hub.dataSource.query('SELECT log FROM delivery_attempts WHERE delivery_id = $1', [id]))[0].log;
    assert.match(log, /one\\u0000two/);
    assertNoNul(d);
    await workflowClosed(workflowId);
  });

  it('cuts an error code longer than its 100-character column (a Teams token endpoint) and fails the delivery', async () => {
    const conn = await hub.call('POST', '/connections', {
      provider: 'teams', name: 'poison teams',
      config: { tenantId: 'contoso', clientId: 'app-1', clientSecret: 'poison-secret-value', authorityBaseUrl: receiver.url, graphBaseUrl: `${receiver.url}/v1.0` },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    try {
      await subscribe('teams', { mode: 'graph', teamId: 'team-1', channelId: '19:abc@thread.tacv2' }, [200, 200], { connectionId: conn.body.id });
      const code = `invalid_${'x'.repeat(150)}`;
      receiver.script.push({ status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: code, error_description: 'nope' }) });
      const { id, workflowId } = await ingest('poison-code');
      const d = await ended(id, 'failed');
      assert.equal(d.attempts, 1);
      assert.ok(d.attemptLog[0].errorCode.length <= 100, `error code of ${d.attemptLog[0].errorCode.length} characters`);
      assert.ok(code.startsWith(d.attemptLog[0].errorCode.slice(0, -1)), 'the code is cut, not replaced');
      await workflowClosed(workflowId);
    } finally {
      await hub.dataSource.query('DELETE FROM subscriptions');
      await hub.call('DELETE', `/connections/${conn.body.id}`);
    }
  });

  it('ends a delivery failed with log_write_refused when PostgreSQL still refuses its attempt row (SQLSTATE class 23), and announces it', async () => {
    // a constraint the hub cannot know of stands for any refusal that repeating the statement cannot cure
    await hub.dataSource.query(`ALTER TABLE delivery_attempts ADD CONSTRAINT poison_check CHECK (error IS NULL OR error NOT LIKE '%poison-marker%') NOT VALID`);
    await subscribe('webhook', { url: `${receiver.url}/refused` });
    receiver.script.push({ status: 400, body: 'poison-marker' });
    const { id, workflowId } = await ingest('poison-refused');
    const d = await ended(id, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].errorCode, 'log_write_refused');
    assert.equal(d.attemptLog[0].outcome, 'permanent');
    assert.match(d.error, /SQLSTATE 23514/);
    const event = await exhaustedEvent(id);
    assert.match(String(event.error), /could not be stored/);
    assert.equal(receiver.at('/refused').length, 1, 'sent once: the refusal is not retried');
    await workflowClosed(workflowId);
  });

  it("the workflow's own log write (recordAttempt) also ends a refused attempt failed, once, and announces it", async () => {
    const sub = await subscribe('webhook', { url: `${receiver.url}/record` }, [600_000]);
    receiver.script.push({ status: 503 });
    const { id } = await ingest('poison-record');
    await ended(id, 'retrying');
    const exhausted: unknown[][] = [];
    const acts = hub.activities({
      targets: { exhausted: async (...args: unknown[]) => void exhausted.push(args) } as unknown as TargetHealth,
    });
    await hub.dataSource.query(`ALTER TABLE delivery_attempts ADD CONSTRAINT poison_check CHECK (error IS NULL OR error NOT LIKE '%poison-marker%') NOT VALID`);
    const record = { deliveryId: id, attempt: 2, trigger: 'scheduled' as const, startedAtMs: Date.now(), durationMs: 5, outcome: 'retryable' as const, error: 'HTTP 503: poison-marker\u0000', status: 'retrying' as const, nextRetryAtMs: Date.now() + 600_000 };
    assert.deepEqual(await acts.recordAttempt(record), { status: 'failed', delayMs: 0 });
    const d = (await hub.call('GET', `/deliveries/${id}`)).body;
    assert.equal(d.status, 'failed');
    assert.deepEqual(d.attemptLog.map((a: { errorCode?: string }) => a.errorCode ?? null), [null, 'log_write_refused']);
    assert.equal(exhausted.length, 1);
    assert.match(String(exhausted[0][2]), /SQLSTATE 23514/);
    // a repeat (Temporal retrying the activity) finds the attempt written and changes nothing
    assert.equal((await acts.recordAttempt(record)).status, 'failed');
    assert.equal((await hub.call('GET', `/deliveries/${id}`)).body.attemptLog.length, 2);
    await hub.call('DELETE', `/subscriptions/${sub.id}`); // ends the workflow still waiting
  });

  it('refuses an ingested payload with a lone surrogate (\\ud800) with 400 naming the field, and stores nothing', async () => {
    await subscribe('webhook', { url: `${receiver.url}/surrogate` });
    const body = `{"event":"incident.created","id":"poison-surrogate","payload":{"incidentId":"i-1","title":"bad \\ud800 title","severity":"major"}}`;
    const res = await hub.call('POST', '/ingest', body, INGEST_TOKEN);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['body.payload.title']);
    assert.match(res.body.errors[0].message, /lone surrogate/);
    const stored = await hub.dataSource.query(`SELECT id FROM emissions WHERE id = 'poison-surrogate'`);
    assert.equal(stored.length, 0);
    // a well-formed pair (an emoji written as \ud83d\ude00) is fine
    const ok = await hub.call('POST', '/ingest', body.replace('poison-surrogate', 'poison-pair').replace('\\ud800', '\\ud83d\\ude00'), INGEST_TOKEN);
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    await ended(ok.body.deliveries[0].id, 'success');
  });

  it('cancel ends a delivery that is retrying against a poisoned receiver: failed, workflow closed', async () => {
    await subscribe('webhook', { url: `${receiver.url}/cancel` }, [600_000]);
    receiver.script.push({ status: 503, body: 'down\u0000' });
    const { id, workflowId } = await ingest('poison-cancel');
    await ended(id, 'retrying');
    const res = await hub.call('POST', `/deliveries/${id}/cancel`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const d = await ended(id, 'failed');
    assert.match(d.error, /[Cc]ancel/);
    assert.equal(d.nextRetryAt, null);
    assert.equal(await workflowClosed(workflowId), 'COMPLETED');
  });

  it('deleting a subscription ends its retrying deliveries and their workflows', async () => {
    const sub = await subscribe('webhook', { url: `${receiver.url}/deleted` }, [600_000]);
    receiver.script.push({ status: 503 });
    const { id, workflowId } = await ingest('poison-deleted');
    await ended(id, 'retrying');
    assert.equal((await hub.call('DELETE', `/subscriptions/${sub.id}`)).status, 204);
    const d = await ended(id, 'failed');
    assert.match(d.error, /subscription .* was deleted/);
    assert.equal(await workflowClosed(workflowId), 'COMPLETED');
    assert.equal(receiver.at('/deleted').length, 1, 'no further attempt');
  });
});
