import assert from 'node:assert/strict';
import { telegramProvider } from '../../providers/telegram';
import { TelegramFake, botErrors } from '../fakes/telegram';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const TOKEN = `6123456789:AAF${'r'.repeat(12)}_tG-${'m'.repeat(16)}`;
const WRONG_TOKEN = `6123456789:AAF${'x'.repeat(32)}`;
const SECRET_PART = TOKEN.split(':')[1];
const OPS = -1001000000001;

describe('telegram provider through the pipeline (real Temporal, PostgreSQL, fake Bot API)', function () {
  this.timeout(120_000);
  // the fake is reset before each test (calls, scripts, messages; its chats are set again below); the
  // subscriptions are deleted after each, so a failed test leaves none that would take the next test's events
  const suite = pipelineSuite({ database: 'provider_telegram', fake: () => new TelegramFake(TOKEN).start(), providers: [telegramProvider] });
  let hub: Hub;
  let fake: TelegramFake;
  let connectionId: string;

  before(async () => {
    ({ hub, fake } = suite);
    const res = await hub.call('POST', '/connections', { provider: 'telegram', name: 'Ops bot', config: { botToken: TOKEN, apiBaseUrl: fake.url } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    connectionId = res.body.id;
  });
  beforeEach(() => {
    fake.chats.clear();
    fake.addChat({ id: OPS, type: 'supergroup', title: 'Ops', topics: [12] });
  });

  const subscribe = (event: string, config: Record<string, unknown> = {}, connection = connectionId) => suite.subscribe({
    name: `telegram ${event}`,
    provider: 'telegram',
    connectionId: connection,
    event,
    config: { chatId: OPS, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, id: string, payload: Record<string, unknown>) => suite.ingest(event, id, { systemIds: ['sys-api'], ...payload });
  const settled = (deliveryId: string, status = 'success') => suite.settled(deliveryId, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({ incidentId, title: `API down ${incidentId}`, severity: 'critical', ...extra });

  it('stores the bot token masked, and tests the connection with getMe', async () => {
    const got = await hub.call('GET', `/connections/${connectionId}`);
    assert.deepEqual(got.body.config, { botToken: { set: true }, apiBaseUrl: fake.url });
    const test = await hub.call('POST', `/connections/${connectionId}/test`);
    assert.deepEqual(test.body, { ok: true, message: 'Connected as @hub_alerts_bot' });
    assert.equal(fake.callsOf('getMe')[0].url, `/bot${TOKEN}/getMe`);
  });

  it('offers the chats of recent updates as options, and explains when a webhook hides them', async () => {
    fake.updates = [{ update_id: 5, message: { message_id: 3, chat: { id: OPS, type: 'supergroup', title: 'Ops' }, text: '/start' } }];
    const options = await hub.call('GET', `/connections/${connectionId}/options/recentChats`);
    assert.equal(options.status, 200);
    assert.deepEqual(options.body, [{ value: String(OPS), label: `Ops (supergroup, ${OPS})` }]);
    fake.webhookUrl = 'https://elsewhere.example/hook';
    const refused = await hub.call('GET', `/connections/${connectionId}/options/recentChats`);
    assert.equal(refused.status, 502);
    assert.match(refused.body.detail, /webhook is set for this bot/);
    assert.ok(!JSON.stringify(refused.body).includes(SECRET_PART));
  });

  it('refuses a subscription without a connection, and a template Telegram would refuse', async () => {
    const bare = await hub.call('POST', '/subscriptions', { name: 'x', provider: 'telegram', event: 'incident.created', config: { chatId: OPS } });
    assert.equal(bare.status, 400);
    assert.deepEqual(bare.body.errors.map((e: { path: string }) => e.path), ['connectionId']);
    const bad = await hub.call('POST', '/subscriptions', {
      name: 'x', provider: 'telegram', connectionId, event: 'incident.created',
      config: { chatId: OPS, parseMode: 'MarkdownV2', template: '*{{payload.title}}* is down.' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'config.template');
  });

  it('posts incident.created to the chat and records <chat>:<message> as the external id', async () => {
    await subscribe('incident.created', { messageThreadId: 12, disableNotification: true });
    const id = await ingest('incident.created', 'evt-tg-create', incident('inc-create', { url: 'https://status.example.com/i/1' }));
    const d = await settled(id);
    assert.equal(d.externalId, `${OPS}:1`);
    assert.equal(d.attempts, 1);
    const [call] = fake.callsOf('sendMessage');
    assert.equal(call.url, `/bot${TOKEN}/sendMessage`);
    assert.equal(call.headers['content-type'], 'application/json');
    assert.deepEqual(
      { chat_id: call.body.chat_id, parse_mode: call.body.parse_mode, message_thread_id: call.body.message_thread_id, disable_notification: call.body.disable_notification },
      { chat_id: OPS, parse_mode: 'HTML', message_thread_id: 12, disable_notification: true },
    );
    assert.equal(
      call.body.text,
      '🔴 <b>Incident created: API down inc-create</b>\n<b>Severity:</b> critical\n<b>Systems:</b> sys-api\n\n<a href="https://status.example.com/i/1">Open in the status page</a>',
    );
  });

  it('edits that same message for updates and the resolution from other subscriptions at the same chat', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    await subscribe('incident.resolved');
    const created = await settled(await ingest('incident.created', 'evt-tg-edit-1', incident('inc-edit')));
    const updated = await settled(await ingest('incident.updated', 'evt-tg-edit-2', incident('inc-edit', { status: 'identified', updateMessage: 'Rolled back the deploy.' })));
    const resolved = await settled(await ingest('incident.resolved', 'evt-tg-edit-3', incident('inc-edit', { status: 'resolved' })));
    assert.deepEqual([created.externalId, updated.externalId, resolved.externalId], [`${OPS}:1`, `${OPS}:1`, `${OPS}:1`]);
    assert.deepEqual(fake.calls.map((c) => c.method), ['sendMessage', 'editMessageText', 'editMessageText']);
    const edits = fake.callsOf('editMessageText');
    assert.deepEqual(edits.map((e) => [e.url, e.body.chat_id, e.body.message_id]), [
      [`/bot${TOKEN}/editMessageText`, OPS, 1],
      [`/bot${TOKEN}/editMessageText`, OPS, 1],
    ]);
    assert.match(edits[0].body.text, /Status:<\/b> identified[\s\S]*Rolled back the deploy\./);
    const messages = fake.messagesIn(OPS);
    assert.equal(messages.length, 1, 'one message for the whole incident');
    assert.match(messages[0].text, /^✅ Incident resolved: API down inc-edit\n.*Status: resolved/);
  });

  it('replies to the first message in reply mode', async () => {
    await subscribe('incident.created', { followUpMode: 'reply', parseMode: 'MarkdownV2' });
    await subscribe('incident.resolved', { followUpMode: 'reply', parseMode: 'MarkdownV2' });
    const created = await settled(await ingest('incident.created', 'evt-tg-reply-1', incident('inc-reply')));
    const resolved = await settled(await ingest('incident.resolved', 'evt-tg-reply-2', incident('inc-reply', { status: 'resolved' })));
    assert.equal(resolved.externalId, created.externalId);
    const reply = fake.callsOf('sendMessage')[1];
    assert.deepEqual(reply.body.reply_parameters, { message_id: 1, allow_sending_without_reply: true });
    assert.equal(reply.body.parse_mode, 'MarkdownV2');
    assert.match(reply.body.text, /^✅ \*Incident resolved: API down inc\\-reply\*/);
    assert.deepEqual(fake.messagesIn(OPS)[1].reply_to_message, { message_id: 1 });
  });

  it('waits parameters.retry_after before retrying a 429', async () => {
    await subscribe('incident.created');
    fake.script.push({ method: 'sendMessage', reply: botErrors.tooManyRequests(2) });
    const d = await settled(await ingest('incident.created', 'evt-tg-429', incident('inc-429')));
    const [first, second] = fake.callsOf('sendMessage');
    assert.ok(second.at - first.at >= 2000, `retried after ${second.at - first.at} ms`);
    assert.equal(d.attempts, 2);
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [['retryable', 429], ['success', 200]]);
    assert.match(d.attemptLog[0].error, /Too Many Requests: retry after 2/);
  });

  it('retries a 5xx and then succeeds', async () => {
    await subscribe('incident.created');
    fake.script.push({ method: 'sendMessage', reply: botErrors.serverError(502, 'Bad Gateway') });
    const d = await settled(await ingest('incident.created', 'evt-tg-502', incident('inc-502')));
    assert.equal(d.attempts, 2);
    assert.equal(d.attemptLog[0].errorCode, 'server_error');
  });

  it('sends to the supergroup a group was upgraded to, at once, and moves the subscription there', async () => {
    fake.addChat({ id: -5005, type: 'group', title: 'Old ops', migratedTo: -1005005 });
    fake.addChat({ id: -1005005, type: 'supergroup', title: 'Ops' });
    const sub = await subscribe('incident.created', { chatId: -5005 });
    const d = await settled(await ingest('incident.created', 'evt-tg-migrate', incident('inc-migrate')));
    assert.equal(d.externalId, '-1005005:1');
    assert.equal(d.attempts, 1);
    assert.deepEqual(fake.callsOf('sendMessage').map((c) => c.body.chat_id), [-5005, -1005005]);
    assert.match(d.attemptLog[0].log, /group -5005 was upgraded to the supergroup -1005005.*chatId is now -1005005/);
    const after = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.equal(after.body.config.chatId, -1005005);
    // the next event goes straight to the supergroup
    await settled(await ingest('incident.created', 'evt-tg-migrate-2', incident('inc-migrate-2')));
    assert.deepEqual(fake.callsOf('sendMessage').map((c) => c.body.chat_id), [-5005, -1005005, -1005005]);
  });

  const gone: Array<[string, () => Promise<{ config?: Record<string, unknown>; connection?: string }>, RegExp]> = [
    ['403 bot was blocked by the user', async () => {
      fake.addChat({ id: 4242, type: 'private', first_name: 'Ada', blocked: true });
      return { config: { chatId: 4242 } };
    }, /blocked the bot/],
    ['403 bot was kicked', async () => {
      fake.chats.get(OPS)!.kicked = true;
      return {};
    }, /bot was removed from chat/],
    ['400 chat not found', async () => ({ config: { chatId: -100777 } }), /chat -100777 was not found/],
    ['401 Unauthorized (a revoked token)', async () => {
      const res = await hub.call('POST', '/connections', { provider: 'telegram', name: 'Revoked bot', config: { botToken: WRONG_TOKEN, apiBaseUrl: fake.url } });
      return { connection: res.body.id };
    }, /rejected the bot token/],
  ];
  for (const [n, [name, arrange, reason]] of gone.entries()) {
    it(`fails ${name} at once and pauses the subscription with a readable reason`, async () => {
      const { config, connection } = await arrange();
      const sub = await subscribe('incident.created', config, connection);
      const d = await settled(await ingest('incident.created', `evt-tg-gone-${n}`, incident(`inc-gone-${n}`)), 'failed');
      assert.equal(d.attempts, 1, 'not retried');
      const after = await hub.call('GET', `/subscriptions/${sub.id}`);
      assert.match(after.body.pausedReason ?? '', reason);
    });
  }

  it('never lets the bot token reach the database, API responses, logs or the workflow history', async () => {
    const sub = await subscribe('incident.created');
    fake.script.push({ method: 'sendMessage', reply: botErrors.badRequest(`wrong request to /bot${TOKEN}/sendMessage (token ${TOKEN})`) });
    const d = await settled(await ingest('incident.created', 'evt-tg-secret', incident('inc-secret')), 'failed');
    assert.match(d.error, /HTTP 400/);
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify((await hub.call('GET', `/subscriptions/${sub.id}`)).body) + JSON.stringify(d) +
      JSON.stringify((await hub.call('GET', '/deliveries?provider=telegram')).body) + JSON.stringify((await hub.call('GET', '/connections')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    for (const s of [SECRET_PART, Buffer.from(SECRET_PART).toString('base64')]) {
      assert.ok(!dump.includes(s), 'database');
      assert.ok(!api.includes(s), 'API');
      assert.ok(!hub.logs.join('\n').includes(s), 'logs');
      assert.ok(!history.includes(s), 'history');
    }
    assert.ok(dump.includes('external_id') && hub.logs.length > 0 && history.length > 1000, 'the dumps hold something');
  });
});
