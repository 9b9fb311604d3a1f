import assert from 'node:assert/strict';
import { webexProvider } from '../../providers/webex';
import { FakeWebex, type WebexRequest } from '../fakes/webex';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const TOKEN = 'ZmFrZS13ZWJleC1ib3QtdG9rZW4tN2YzYTljMWU1NQ_PF84_c0ffee42';

describe('webex provider through the pipeline (real Temporal, PostgreSQL, fake Webex API)', function () {
  this.timeout(120_000);
  // before each test the fake's requests and scripted answers are cleared; after each the subscriptions are
  // deleted, so a failed test leaves none that would take the next test's events
  const suite = pipelineSuite({ database: 'provider_webex', fake: () => new FakeWebex(TOKEN).start(), providers: [webexProvider] });
  let hub: Hub;
  let fake: FakeWebex;
  let connectionId: string;

  before(async () => {
    ({ hub, fake } = suite);
    const res = await hub.call('POST', '/connections', { provider: 'webex', name: 'Status bot', config: { botToken: TOKEN, apiBaseUrl: fake.url } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    connectionId = res.body.id;
  });

  const subscribe = (roomId: string, event = 'incident.created', config: Record<string, unknown> = {}) => suite.subscribe({
    name: `webex ${event}`,
    provider: 'webex',
    connectionId,
    event,
    config: { roomId, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  /** Ingests one event and returns its single delivery id. */
  const ingest = (event: string, payload: Record<string, unknown>) => suite.ingest(event, undefined, payload);
  const delivered = (id: string, status = 'success') => suite.settled(id, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId,
    title: `Checkout down ${incidentId}`,
    severity: 'critical',
    status: 'investigating',
    description: 'Error rate above 20%.',
    systemIds: ['sys-checkout'],
    url: `https://status.example.com/incidents/${incidentId}`,
    ...extra,
  });

  const postsTo = (roomId: string): WebexRequest[] => fake.at('POST', '/v1/messages').filter((r) => r.json?.roomId === roomId);

  it('tests the connection, lists rooms, and shows the connection without its token', async () => {
    const room = fake.addRoom('Incident room');
    const test = await hub.call('POST', `/connections/${connectionId}/test`);
    assert.deepEqual(test.body, { ok: true, message: 'Connected as bot Status Bot' });
    const rooms = await hub.call('GET', `/connections/${connectionId}/options/rooms`);
    assert.equal(rooms.status, 200);
    assert.ok(rooms.body.some((r: { value: string; label: string }) => r.value === room && r.label === 'Incident room'), JSON.stringify(rooms.body));
    const conn = await hub.call('GET', `/connections/${connectionId}`);
    assert.deepEqual(conn.body.config, { botToken: { set: true }, apiBaseUrl: fake.url });
  });

  it('posts the incident as Markdown with the bot token and records the message id', async () => {
    const room = fake.addRoom('Posting');
    await subscribe(room);
    const id = await ingest('incident.created', incident('inc-post'));
    const d = await delivered(id);
    const [req] = postsTo(room);
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(Object.keys(req.json), ['roomId', 'markdown']);
    assert.equal(
      req.json.markdown,
      [
        '🔴 **\\[CRITICAL\\] Checkout down inc-post**',
        'Incident created · Status: investigating',
        'Systems: sys-checkout',
        '',
        'Error rate above 20%.',
        '',
        '[View details](https://status.example.com/incidents/inc-post)',
      ].join('\n'),
    );
    assert.equal(d.externalId, fake.messagesIn(room)[0].id);
    assert.equal(d.attempts, 1);
  });

  it('threads updates and the resolution under the first message (thread mode)', async () => {
    const room = fake.addRoom('Threads');
    await subscribe(room, 'incident.created');
    await subscribe(room, 'incident.updated');
    await subscribe(room, 'incident.resolved');
    const created = await delivered(await ingest('incident.created', incident('inc-thread')));
    const root = created.externalId as string;
    const updated = await delivered(await ingest('incident.updated', incident('inc-thread', { status: 'identified', updateMessage: 'Rolled back.' })));
    const resolved = await delivered(await ingest('incident.resolved', incident('inc-thread', { status: 'resolved', resolutionMessage: 'Fixed.' })));
    assert.equal(updated.externalId, root);
    assert.equal(resolved.externalId, root);
    const replies = fake.messagesIn(room, root);
    assert.equal(replies.length, 2);
    assert.match(replies[0].markdown!, /Status: identified[\s\S]*Rolled back\./);
    assert.match(replies[1].markdown!, /^✅ \*\*Resolved: Checkout down inc-thread\*\*/);
    assert.equal(fake.messagesIn(room).length, 3, 'one root and two replies, no second root');
    assert.equal(fake.at('PUT', '/v1/messages').length, 0);
  });

  it('edits the first message on resolve in edit mode, counting the edit', async () => {
    const room = fake.addRoom('Edits');
    await subscribe(room, 'incident.created', { followUpMode: 'edit' });
    await subscribe(room, 'incident.resolved', { followUpMode: 'edit' });
    const created = await delivered(await ingest('incident.created', incident('inc-edit')));
    const resolved = await delivered(await ingest('incident.resolved', incident('inc-edit', { status: 'resolved' })));
    assert.equal(resolved.externalId, `${created.externalId}#edits=1`);
    const [put] = fake.at('PUT', '/v1/messages').filter((r) => r.json?.roomId === room);
    assert.equal(put.path, `/v1/messages/${created.externalId}`);
    assert.equal(put.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(Object.keys(put.json), ['roomId', 'markdown']);
    const message = fake.messages.get(created.externalId)!;
    assert.match(message.markdown!, /^✅ \*\*Resolved: Checkout down inc-edit\*\*/);
    assert.equal(message.edits, 1);
    assert.equal(fake.messagesIn(room).length, 1, 'no new message');
  });

  for (const [status, seconds] of [
    [429, 2],
    [423, 1],
  ] as const) {
    it(`does not retry a ${status} with Retry-After: ${seconds} sooner than ${seconds} s`, async () => {
      const room = fake.addRoom(`Limited ${status}`);
      await subscribe(room);
      fake.script.push({ method: 'POST', path: '/v1/messages', status, headers: { 'retry-after': String(seconds) } });
      const d = await delivered(await ingest('incident.created', incident(`inc-${status}`)));
      const [first, second] = postsTo(room);
      assert.ok(second.at - first.at >= seconds * 1000, `second attempt came after ${second.at - first.at} ms`);
      assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
        ['retryable', status],
        ['success', 200],
      ]);
    });
  }

  it('retries a 503 and then succeeds', async () => {
    const room = fake.addRoom('Flaky');
    await subscribe(room);
    fake.script.push({ method: 'POST', path: '/v1/messages', status: 503 });
    const d = await delivered(await ingest('incident.created', incident('inc-503')));
    assert.equal(d.attempts, 2);
    assert.equal(fake.messagesIn(room).length, 1);
  });

  it('fails a 400 after one attempt without pausing', async () => {
    const room = fake.addRoom('Bad request');
    const sub = await subscribe(room);
    fake.script.push({ method: 'POST', path: '/v1/messages', status: 400, body: { message: 'Invalid markdown.', errors: [{ description: 'Invalid markdown.' }] } });
    const d = await delivered(await ingest('incident.created', incident('inc-400')), 'failed');
    assert.equal(d.attempts, 1);
    assert.match(d.error, /^HTTP 400 from Webex: Invalid markdown\./);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
  });

  const pausing: { name: string; status: number; reason: RegExp; arrange(room: string): () => void }[] = [
    {
      name: 'the bot token is revoked (401)',
      status: 401,
      reason: /Webex rejected the bot token/,
      arrange: () => {
        fake.tokens.delete(TOKEN);
        return () => fake.tokens.add(TOKEN);
      },
    },
    {
      name: 'Webex forbids posting in the room (403)',
      status: 403,
      reason: /not a member of the room or may not post there/,
      arrange: () => {
        fake.script.push({ method: 'POST', path: '/v1/messages', status: 403 });
        return () => undefined;
      },
    },
    {
      name: 'the bot was removed from the room (404)',
      status: 404,
      reason: /was not found/,
      arrange: (room) => {
        fake.rooms.find((r) => r.id === room)!.member = false;
        return () => undefined;
      },
    },
  ];
  for (const p of pausing) {
    it(`pauses the subscription when ${p.name}`, async () => {
      const room = fake.addRoom(`Pause ${p.status}`);
      const sub = await subscribe(room);
      const restore = p.arrange(room);
      try {
        const d = await delivered(await ingest('incident.created', incident(`inc-pause-${p.status}`)), 'failed');
        assert.equal(d.attempts, 1);
        assert.equal(d.attemptLog[0].httpStatus, p.status);
        const s = await hub.call('GET', `/subscriptions/${sub.id}`);
        assert.match(s.body.pausedReason, p.reason);
      } finally {
        restore();
      }
    });
  }

  it('never lets the bot token reach the database in plaintext, responses, logs or Temporal history', async () => {
    const room = fake.addRoom('Secrets');
    const sub = await subscribe(room);
    // Webex echoing the Authorization header back in an error
    fake.script.push({ method: 'POST', path: '/v1/messages', status: 400, body: { message: `bad header: Bearer ${TOKEN}`, errors: [{ description: TOKEN }] } });
    const d = await delivered(await ingest('incident.created', incident('inc-secret')), 'failed');
    await hub.call('POST', `/connections/${connectionId}/test`);
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify((await hub.call('GET', `/subscriptions/${sub.id}`)).body) +
      JSON.stringify((await hub.call('GET', `/connections/${connectionId}`)).body) +
      JSON.stringify((await hub.call('GET', '/connections')).body) +
      JSON.stringify(d) +
      JSON.stringify((await hub.call('GET', '/deliveries?provider=webex')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const hist = historyText(closed);
    const logs = hub.logs.join('\n');
    for (const form of [TOKEN, Buffer.from(TOKEN).toString('base64')]) {
      assert.ok(!dump.includes(form), 'database');
      assert.ok(!api.includes(form), 'API');
      assert.ok(!logs.includes(form), 'logs');
      assert.ok(!hist.includes(form), 'history');
    }
    assert.ok(logs.length > 0 && hist.length > 1000, 'logs and history were captured');
    assert.match(d.error, /^HTTP 400 from Webex: bad header: Bearer \*\*\*/);
  });
});
