import assert from 'node:assert/strict';
import { parseDeliveryInput } from '../../providers/input';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { telegramProvider } from '../../providers/telegram';
import { telegramConfigSchema, telegramConnectionSchema } from '../../providers/telegram/config';
import type { DeliveryContext, DeliveryEvent, DeliveryOutcome } from '../../providers/types';
import { TelegramFake, botErrors, type FakeReply } from '../fakes/telegram';

const TOKEN = `7012345678:AAH${'k'.repeat(16)}Z9_x-${'q'.repeat(11)}`;
const WRONG_TOKEN = `7012345678:AAH${'w'.repeat(32)}`;
const GROUP = -1001234567890;
const http127 = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: ['127.0.0.0/8'] });

const CREATED: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-api'],
  subject: 'inc_1',
  resolves: false,
  payload: { incidentId: 'inc_1', title: 'API down', severity: 'critical', status: 'investigating' },
};
const RESOLVED: DeliveryEvent = {
  ...CREATED,
  id: 'evt_2',
  type: 'incident.resolved',
  displayName: 'Incident resolved',
  resolves: true,
  payload: { ...CREATED.payload, status: 'resolved', resolutionMessage: 'Rolled back.' },
};

describe('telegram provider', () => {
  let fake: TelegramFake;
  let base: string;

  before(async () => {
    fake = await new TelegramFake(TOKEN).start();
    base = fake.url;
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    fake.chats.clear();
    fake.addChat({ id: GROUP, type: 'supergroup', title: 'Ops', topics: [7] });
  });

  // loosely typed, so a test can hand over a config the schema would refuse
  type Ctx = DeliveryContext<any, any>;
  function ctx(config: Record<string, unknown> = {}, extra: Partial<Ctx> = {}, token = TOKEN): Ctx {
    return {
      deliveryId: 'dlv_1',
      attempt: 1,
      event: CREATED,
      subscription: { id: 'sub_1', name: 'Ops chat' },
      config: telegramConfigSchema.parse({ chatId: GROUP, ...config }),
      connection: telegramConnectionSchema.parse({ botToken: token, apiBaseUrl: base }),
      test: false,
      redelivery: false,
      http: http127,
      ...extra,
    };
  }
  const deliver = (c: Ctx) => telegramProvider.deliver(c);

  /** Sends the subject's first message and returns its external id. */
  async function first(config: Record<string, unknown> = {}): Promise<string> {
    const outcome = await deliver(ctx(config));
    assert.equal(outcome.kind, 'success', JSON.stringify(outcome));
    return (outcome as { externalId: string }).externalId;
  }

  describe('sending', () => {
    it('POSTs sendMessage as JSON to /bot<token>/ with chat, text, parse mode and options, and records <chat>:<message>', async () => {
      const outcome = await deliver(ctx({ messageThreadId: 7, disableNotification: true }));
      assert.deepEqual(outcome, { kind: 'success', externalId: `${GROUP}:1`, httpStatus: 200 });
      const [call] = fake.calls;
      assert.equal(fake.calls.length, 1);
      assert.equal(call.url, `/bot${TOKEN}/sendMessage`);
      assert.equal(call.headers['content-type'], 'application/json');
      assert.equal(call.headers.authorization, undefined, 'the token travels in the path only');
      assert.deepEqual(Object.keys(call.body).sort(), ['chat_id', 'disable_notification', 'link_preview_options', 'message_thread_id', 'parse_mode', 'text']);
      assert.equal(call.body.chat_id, GROUP);
      assert.equal(call.body.parse_mode, 'HTML');
      assert.equal(call.body.message_thread_id, 7);
      assert.equal(call.body.disable_notification, true);
      assert.deepEqual(call.body.link_preview_options, { is_disabled: true });
      assert.equal(fake.messagesIn(GROUP)[0].text, '🔴 Incident created: API down\nSeverity: critical · Status: investigating\nSystems: sys-api');
    });

    it('sends to an @channelusername and records the numeric chat id the API answers with', async () => {
      fake.addChat({ id: -1009999, type: 'channel', title: 'Status', username: 'status_news' });
      const outcome = await deliver(ctx({ chatId: '@status_news', parseMode: 'MarkdownV2' }));
      assert.deepEqual(outcome, { kind: 'success', externalId: '-1009999:1', httpStatus: 200 });
      assert.equal(fake.calls[0].body.chat_id, '@status_news');
    });
  });

  describe('follow-ups', () => {
    it('edits the first message in edit mode, showing the event resolved, and keeps its external id', async () => {
      const externalId = await first();
      const outcome = await deliver(ctx({}, { event: RESOLVED, followUp: { externalId } }));
      assert.deepEqual(outcome, { kind: 'success', externalId, httpStatus: 200 });
      const edit = fake.callsOf('editMessageText')[0];
      assert.equal(edit.url, `/bot${TOKEN}/editMessageText`);
      assert.deepEqual({ chat_id: edit.body.chat_id, message_id: edit.body.message_id, parse_mode: edit.body.parse_mode }, { chat_id: GROUP, message_id: 1, parse_mode: 'HTML' });
      assert.equal(fake.messagesIn(GROUP).length, 1, 'no second message');
      assert.match(fake.messagesIn(GROUP)[0].text, /^✅ Incident resolved: API down\n.*Status: resolved[\s\S]*Rolled back\.$/);
    });

    it('treats "message is not modified" as success (a redelivery of the same text)', async () => {
      const externalId = await first();
      await deliver(ctx({}, { event: RESOLVED, followUp: { externalId } }));
      const again = await deliver(ctx({}, { event: RESOLVED, followUp: { externalId } }));
      assert.deepEqual(again, { kind: 'success', externalId, httpStatus: 400 });
    });

    it('posts a new message, and records it, when the message to edit was deleted', async () => {
      await first();
      const outcome = await deliver(ctx({}, { event: RESOLVED, followUp: { externalId: `${GROUP}:99` } }));
      assert.deepEqual(outcome, { kind: 'success', externalId: `${GROUP}:2`, httpStatus: 200 });
      assert.deepEqual(fake.calls.map((c) => c.method), ['sendMessage', 'editMessageText', 'sendMessage']);
    });

    it('replies to the first message in reply mode and keeps the thread anchored to it', async () => {
      const externalId = await first({ followUpMode: 'reply' });
      const outcome = await deliver(ctx({ followUpMode: 'reply' }, { event: RESOLVED, followUp: { externalId } }));
      assert.deepEqual(outcome, { kind: 'success', externalId, httpStatus: 200 });
      const reply = fake.callsOf('sendMessage')[1];
      assert.deepEqual(reply.body.reply_parameters, { message_id: 1, allow_sending_without_reply: true });
      assert.deepEqual(fake.messagesIn(GROUP)[1].reply_to_message, { message_id: 1 });
      assert.match(fake.messagesIn(GROUP)[1].text, /^✅ Incident resolved/);
    });

    it('anchors the thread on the reply when the first message is gone', async () => {
      await first({ followUpMode: 'reply' });
      const outcome = await deliver(ctx({ followUpMode: 'reply' }, { event: RESOLVED, followUp: { externalId: `${GROUP}:42` } }));
      assert.deepEqual(outcome, { kind: 'success', externalId: `${GROUP}:2`, httpStatus: 200 });
    });
  });

  describe('classification', () => {
    async function failWith(reply: FakeReply, config: Record<string, unknown> = {}): Promise<DeliveryOutcome> {
      fake.script.push({ method: 'sendMessage', reply });
      return deliver(ctx(config));
    }

    it('waits parameters.retry_after on 429, or a longer Retry-After header', async () => {
      assert.deepEqual(await failWith(botErrors.tooManyRequests(7)), {
        kind: 'retryable',
        errorCode: 'rate_limited',
        httpStatus: 429,
        error: 'sendMessage: HTTP 429: Too Many Requests: retry after 7',
        retryAfterMs: 7000,
      });
      const withHeader = await failWith({ ...botErrors.tooManyRequests(3), headers: { 'retry-after': '11' } });
      assert.equal(withHeader.kind === 'retryable' && withHeader.retryAfterMs, 11_000);
    });

    it('retries 5xx and answers that are not Bot API envelopes', async () => {
      const outcome = await failWith(botErrors.serverError(502, 'Bad Gateway'));
      assert.deepEqual(outcome, { kind: 'retryable', errorCode: 'server_error', httpStatus: 502, error: 'sendMessage: HTTP 502: Bad Gateway' });
      const html = await failWith({ status: 503, body: '<html>nginx</html>' });
      assert.equal(html.kind, 'retryable');
    });

    const pausing: Array<[string, () => FakeReply, string, RegExp]> = [
      ['403 bot was blocked by the user', botErrors.blocked, 'bot_blocked', /blocked the bot/],
      ['403 bot was kicked', botErrors.kicked, 'bot_kicked', /bot was removed from chat -1001234567890: add it back/],
      ['403 bot is not a member', botErrors.notMember, 'not_member', /not a member of chat -1001234567890/],
      ['400 chat not found', botErrors.chatNotFound, 'chat_not_found', /chat -1001234567890 was not found/],
      ['400 message thread not found', () => botErrors.badRequest('message thread not found'), 'thread_not_found', /Forum topic/],
      ['401 Unauthorized', botErrors.unauthorized, 'unauthorized', /rejected the bot token/],
      ['404 Not Found', () => ({ status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } }), 'not_found', /bot token and API base URL/],
    ];
    for (const [name, reply, errorCode, reason] of pausing) {
      it(`treats ${name} as permanent and pauses with a readable reason`, async () => {
        const outcome = await failWith(reply());
        assert.equal(outcome.kind, 'permanent', JSON.stringify(outcome));
        assert.equal(outcome.kind === 'permanent' && outcome.errorCode, errorCode);
        assert.match((outcome.kind === 'permanent' && outcome.pauseReason) || '', reason);
        assert.match((outcome.kind === 'permanent' && outcome.pauseReason) || '', /resume|deleted/);
      });
    }

    it('treats a real 401 for a wrong token as permanent and pausing, without the token in any text', async () => {
      const outcome = await deliver(ctx({}, {}, WRONG_TOKEN));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.httpStatus, 401);
      assert.ok(!JSON.stringify(outcome).includes(WRONG_TOKEN.split(':')[1]));
    });

    it('treats other 400s (a parse error) as permanent without pausing', async () => {
      const outcome = await failWith(botErrors.badRequest("can't parse entities: Unsupported start tag \"h1\" at byte offset 0"));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'parse_error');
      assert.equal(outcome.kind === 'permanent' && outcome.pauseReason, undefined);
    });

    it('resends at once to the supergroup a group migrated to, and says so', async () => {
      fake.addChat({ id: -4001, type: 'group', title: 'Old ops', migratedTo: -1004001 });
      fake.addChat({ id: -1004001, type: 'supergroup', title: 'Ops' });
      const outcome = await deliver(ctx({ chatId: -4001 }));
      assert.equal(outcome.kind, 'success');
      assert.equal(outcome.externalId, '-1004001:1');
      assert.deepEqual(outcome.kind === 'success' && outcome.configUpdate, { chatId: -1004001 });
      assert.match(outcome.log ?? '', /group -4001 was upgraded to the supergroup -1004001.*chatId is now -1004001/);
      assert.deepEqual(fake.callsOf('sendMessage').map((c) => c.body.chat_id), [-4001, -1004001]);
    });

    it('posts afresh in the new supergroup when the message to edit was in a group that migrated', async () => {
      fake.addChat({ id: -4002, type: 'group', title: 'Old ops' });
      const externalId = await first({ chatId: -4002 });
      fake.chats.get(-4002)!.migratedTo = GROUP;
      const outcome = await deliver(ctx({ chatId: -4002 }, { event: RESOLVED, followUp: { externalId } }));
      assert.equal(outcome.kind === 'success' && outcome.externalId, `${GROUP}:1`);
      assert.deepEqual(outcome.kind === 'success' && outcome.configUpdate, { chatId: GROUP });
    });

    it('retries a transport failure and names no token', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const c = ctx();
      c.connection = telegramConnectionSchema.parse({ botToken: TOKEN, apiBaseUrl: `http://127.0.0.1:${port}` });
      const outcome = await deliver(c);
      assert.equal(outcome.kind, 'retryable');
      assert.ok(!JSON.stringify(outcome).includes(TOKEN));
    });

    it('never puts the token into an outcome, even when the API echoes it back', async () => {
      const echo = await failWith(botErrors.badRequest(`bad url /bot${TOKEN}/sendMessage token ${TOKEN}`));
      assert.ok(!JSON.stringify(echo).includes(TOKEN.split(':')[1]), JSON.stringify(echo));
    });

    it('fails a config or template that cannot work as permanent, without a request', async () => {
      // the attempt activity parses the stored config once, before the provider is called
      assert.deepEqual(parseDeliveryInput(telegramProvider, { chatId: 'nope' }, ctx().connection), {
        ok: false,
        outcome: { kind: 'permanent', errorCode: 'invalid_config', error: 'Telegram config is invalid at config.chatId' },
      });
      const empty = await deliver(ctx({ template: '{{payload.nothing}}' }));
      assert.equal(empty.kind === 'permanent' && empty.errorCode, 'template_error');
      assert.equal(fake.calls.length, 0);
    });
  });

  describe('connection test and options', () => {
    const conn = (token = TOKEN) => ({ connection: telegramConnectionSchema.parse({ botToken: token, apiBaseUrl: base }), http: http127, query: {} });

    it('says who the bot is with getMe, and reports a rejected token without echoing it', async () => {
      assert.deepEqual(await telegramProvider.testConnection!(conn()), { ok: true, message: 'Connected as @hub_alerts_bot' });
      const bad = await telegramProvider.testConnection!(conn(WRONG_TOKEN));
      assert.equal(bad.ok, false);
      assert.match(bad.message, /rejected the bot token \(HTTP 401 Unauthorized\)/);
      assert.equal(fake.callsOf('getMe')[1].url, `/bot${WRONG_TOKEN}/getMe`);
    });

    it('lists the distinct chats of recent updates, latest title first seen, without confirming updates', async () => {
      const group = { id: GROUP, type: 'supergroup', title: 'Ops' };
      fake.updates = [
        { update_id: 1, message: { message_id: 1, chat: { ...group, title: 'Ops (old)' }, text: 'hi' } },
        { update_id: 2, my_chat_member: { chat: { id: 99, type: 'private', first_name: 'Ada', last_name: 'L' } } },
        { update_id: 3, channel_post: { message_id: 5, chat: { id: -1005, type: 'channel', title: 'Status' } } },
        { update_id: 4, message: { message_id: 2, chat: group, text: 'again' } },
      ];
      const options = await telegramProvider.options!.recentChats(conn());
      assert.deepEqual(options, [
        { value: String(GROUP), label: `Ops (supergroup, ${GROUP})` },
        { value: '99', label: 'Ada L (private, 99)' },
        { value: '-1005', label: 'Status (channel, -1005)' },
      ]);
      assert.equal(fake.callsOf('getUpdates')[0].body.offset, undefined, 'no offset: nothing is confirmed');
    });

    it('explains that recent chats cannot be read while a webhook is set', async () => {
      fake.webhookUrl = 'https://elsewhere.example/hook';
      await assert.rejects(telegramProvider.options!.recentChats(conn()), /HTTP 409.*webhook is set for this bot/);
    });
  });
});
