import assert from 'node:assert/strict';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { slackConfigSchema, slackConnectionSchema, slackProvider, type SlackConfig, type SlackConnection } from '../../providers/slack';
import { ProviderRegistry } from '../../providers/registry';
import type { DeliveryContext, DeliveryEvent } from '../../providers/types';
import { FakeSlack } from '../fakes/slack';

const TOKEN = 'xoxb-1000-2000-unitTokenValue';
const http127 = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 256 * 1024, allowedNetworks: ['127.0.0.0/8'] });

const created: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-a'],
  payload: { incidentId: 'inc_1', title: 'Checkout down', severity: 'major', status: 'investigating' },
  subject: 'inc_1',
  resolves: false,
};
const updated: DeliveryEvent = {
  ...created,
  id: 'evt_2',
  type: 'incident.updated',
  displayName: 'Incident updated',
  payload: { ...created.payload, status: 'identified', updateMessage: 'Rolled back' },
};
const resolved: DeliveryEvent = {
  ...created,
  id: 'evt_3',
  type: 'incident.resolved',
  displayName: 'Incident resolved',
  payload: { ...created.payload, status: 'resolved', resolutionMessage: 'Fixed' },
  resolves: true,
};

describe('slack provider', () => {
  let slack: FakeSlack;
  let connection: SlackConnection;

  before(async () => {
    slack = await new FakeSlack().start();
    slack.addToken(TOKEN).addChannel({ id: 'C0OPS', name: 'ops' });
    connection = slackConnectionSchema.parse({ botToken: TOKEN, apiBaseUrl: slack.apiBaseUrl });
  });
  after(() => slack.stop());
  beforeEach(() => slack.reset());

  function context(config: Record<string, unknown>, event: DeliveryEvent, extra: Partial<DeliveryContext<SlackConfig, SlackConnection>> = {}) {
    return {
      deliveryId: 'dlv_1',
      attempt: 1,
      event,
      subscription: { id: 'sub_1', name: 'Ops' },
      config: slackConfigSchema.parse(config),
      connection,
      test: false,
      redelivery: false,
      http: http127,
      ...extra,
    } satisfies DeliveryContext<SlackConfig, SlackConnection>;
  }

  describe('config', () => {
    it('needs either a channel or a webhook URL, not both, and no follow-up mode with a webhook', () => {
      const problems = (config: unknown) => {
        const r = slackConfigSchema.safeParse(config);
        return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      };
      assert.deepEqual(problems({}), ['channel: give a channel (with a connection) or a webhookUrl']);
      assert.match(problems({ channel: 'C0OPS', webhookUrl: 'https://hooks.slack.com/services/T/B/x' })[0], /not both/);
      assert.match(problems({ webhookUrl: 'https://hooks.slack.com/services/T/B/x', followUpMode: 'thread' })[0], /^followUpMode: /);
      assert.match(problems({ channel: '#ops' })[0], /channel id such as C0123ABCD/);
      assert.match(problems({ channel: 'C0OPS', extra: 1 })[0], /[Uu]nrecognized key/);
      assert.deepEqual(problems({ webhookUrl: null, channel: 'C0OPS', followUpMode: 'thread', mentions: ['here', 'U0LEAD'] }), []);
    });

    it('marks the webhook URL and the bot token as secrets', () => {
      const entry = new ProviderRegistry().register(slackProvider);
      assert.deepEqual(entry.secretPaths, ['webhookUrl']);
      assert.deepEqual(entry.connectionSecretPaths, ['botToken']);
      assert.equal(slackConnectionSchema.parse({ botToken: TOKEN }).apiBaseUrl, 'https://slack.com/api');
      assert.equal(slackConnectionSchema.safeParse({ botToken: 'not-a-token' }).success, false);
    });

    it('names the channel at the API as the follow-up target; a webhook has none', () => {
      const target = slackProvider.followUpTarget!;
      assert.equal(target(slackConfigSchema.parse({ channel: 'C0OPS' }), connection), `slack:${slack.apiBaseUrl}:C0OPS`);
      assert.equal(target(slackConfigSchema.parse({ webhookUrl: 'https://hooks.slack.com/services/T/B/x' }), undefined), undefined);
      assert.equal(target(slackConfigSchema.parse({ channel: 'C0OPS' }), undefined), undefined);
    });

    it('rejects template fields the event can never have', () => {
      const problems = slackProvider.validateConfig!(slackConfigSchema.parse({ channel: 'C0OPS', template: '{{payload.titel}}' }), {
        id: 'incident.created',
        payloadSchema: { type: 'object', properties: { title: { type: 'string' } }, additionalProperties: false },
      }, { hasConnection: true });
      assert.equal(problems.length, 1);
      assert.match(problems[0].message, /did you mean "title"/);
    });

    it('refuses at save time a channel without a connection (a bot token), but not an incoming webhook', () => {
      const eventType = { id: 'incident.created', payloadSchema: { type: 'object' } };
      const channel = slackProvider.validateConfig!(slackConfigSchema.parse({ channel: 'C0OPS' }), eventType, { hasConnection: false });
      assert.deepEqual(channel.map((p) => p.path), ['connectionId']);
      assert.match(channel[0].message, /bot token.*webhookUrl/);
      const webhook = slackConfigSchema.parse({ webhookUrl: 'https://hooks.slack.com/services/T/B/x' });
      assert.deepEqual(slackProvider.validateConfig!(webhook, eventType, { hasConnection: false }), []);
    });
  });

  describe('bot delivery', () => {
    it('posts with the bearer token and a JSON body, and returns <channel>:<ts>', async () => {
      const outcome = await slackProvider.deliver(context({ channel: 'C0OPS' }, created));
      const [call] = slack.calls('chat.postMessage');
      assert.equal(call.verb, 'POST');
      assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(call.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(call.json.channel, 'C0OPS');
      assert.equal(call.json.unfurl_links, false);
      assert.match(call.json.text, /^Incident created: Checkout down/);
      assert.equal(call.json.blocks[0].type, 'header');
      const ts = slack.topLevel('C0OPS')[0].ts;
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 200, externalId: `C0OPS:${ts}` });
    });

    it('edits the original message on a follow-up (update mode), keeping its external id', async () => {
      const first = await slackProvider.deliver(context({ channel: 'C0OPS' }, created));
      const externalId = (first as { externalId: string }).externalId;
      const outcome = await slackProvider.deliver(context({ channel: 'C0OPS' }, updated, { followUp: { externalId } }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 200, externalId });
      const [update] = slack.calls('chat.update');
      assert.equal(update.json.ts, externalId.split(':')[1]);
      assert.equal(update.json.channel, 'C0OPS');
      const message = slack.topLevel('C0OPS');
      assert.equal(message.length, 1);
      assert.equal(message[0].edits, 1);
      assert.match(message[0].text!, /^Incident updated: Checkout down \(major, identified\)/);
    });

    it('posts a replacement when the original was deleted, returning the new id', async () => {
      const first = (await slackProvider.deliver(context({ channel: 'C0OPS' }, created))) as { externalId: string };
      slack.deleteMessage('C0OPS', first.externalId.split(':')[1]);
      const outcome = (await slackProvider.deliver(context({ channel: 'C0OPS' }, updated, { followUp: first }))) as { externalId: string };
      assert.equal(slack.calls('chat.update').length, 1);
      assert.equal(slack.calls('chat.postMessage').length, 2);
      const replacement = slack.topLevel('C0OPS')[0];
      assert.equal(outcome.externalId, `C0OPS:${replacement.ts}`);
      assert.notEqual(outcome.externalId, first.externalId);
    });

    it('replies in the thread when the original may not be edited (posted by another app)', async () => {
      slack.messages.push({ channel: 'C0OPS', ts: '1700000000.000001', text: 'other bot', botId: 'B0OTHER', edits: 0 });
      const followUp = { externalId: 'C0OPS:1700000000.000001' };
      const outcome = await slackProvider.deliver(context({ channel: 'C0OPS' }, updated, { followUp }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 200, externalId: followUp.externalId });
      const [reply] = slack.calls('chat.postMessage');
      assert.equal(reply.json.thread_ts, '1700000000.000001');
    });

    it('replies in the thread in thread mode; a resolving event is broadcast and resolves the original', async () => {
      const config = { channel: 'C0OPS', followUpMode: 'thread' };
      const first = (await slackProvider.deliver(context(config, created))) as { externalId: string };
      const ts = first.externalId.split(':')[1];
      const reply = await slackProvider.deliver(context(config, updated, { followUp: first }));
      assert.deepEqual(reply, { kind: 'success', httpStatus: 200, externalId: first.externalId });
      const done = await slackProvider.deliver(context(config, resolved, { followUp: first }));
      assert.deepEqual(done, { kind: 'success', httpStatus: 200, externalId: first.externalId });
      const replies = slack.messages.filter((m) => m.thread_ts === ts);
      assert.deepEqual(replies.map((m) => m.reply_broadcast), [false, true]);
      assert.match(replies[0].blocks![0].text.text, /\*Incident updated\* · Status: \*identified\*\nRolled back/);
      const original = slack.message('C0OPS', ts)!;
      assert.equal(original.edits, 1);
      assert.equal(original.blocks![0].text.text, ':white_check_mark: Resolved: Checkout down');
    });

    it('fails permanently without a connection, and retries when Slack cannot be reached', async () => {
      const none = await slackProvider.deliver(context({ channel: 'C0OPS' }, created, { connection: undefined }));
      assert.equal(none.kind, 'permanent');
      assert.equal(none.kind === 'permanent' && none.errorCode, 'connection_missing');
      const unreachable = slackConnectionSchema.parse({ botToken: TOKEN, apiBaseUrl: 'http://127.0.0.1:1/api' });
      const down = await slackProvider.deliver(context({ channel: 'C0OPS' }, created, { connection: unreachable }));
      assert.equal(down.kind, 'retryable');
    });
  });

  describe('incoming webhook delivery', () => {
    it('posts JSON without auth and succeeds on "ok" with no external id', async () => {
      const url = slack.addHook('/services/T0ACME/B0HOOK/unitHookSecret123', 'C0OPS');
      const outcome = await slackProvider.deliver(context({ webhookUrl: url }, created, { connection: undefined }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 200 });
      const [call] = slack.calls('hook');
      assert.equal(call.headers.authorization, undefined);
      assert.equal(call.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(call.json.blocks[0].type, 'header');
      assert.equal(slack.topLevel('C0OPS').length, 1);
    });

    it('pauses on a removed hook (no_service) without naming its URL', async () => {
      const url = `${slack.url}/services/T0ACME/B0GONE/goneHookSecret456`;
      const outcome = await slackProvider.deliver(context({ webhookUrl: url }, created, { connection: undefined }));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.kind === 'permanent' && outcome.errorCode, 'no_service');
      assert.match(outcome.kind === 'permanent' ? outcome.pauseReason ?? '' : '', /removed or disabled/);
      assert.ok(!JSON.stringify(outcome).includes('goneHookSecret456'));
    });
  });

  describe('connection test and channel options', () => {
    it('reports the workspace and bot user, or why the token was refused', async () => {
      assert.deepEqual(await slackProvider.testConnection!({ connection, http: http127, query: {} }), { ok: true, message: 'Connected to Acme Ops as hubbot' });
      const [call] = slack.calls('auth.test');
      assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
      const wrong = slackConnectionSchema.parse({ botToken: 'xoxb-wrong-token', apiBaseUrl: slack.apiBaseUrl });
      const refused = await slackProvider.testConnection!({ connection: wrong, http: http127, query: {} });
      assert.equal(refused.ok, false);
      assert.match(refused.message, /invalid_auth/);
    });

    it('lists every page of channels the bot can use, without archived ones, sorted by name', async () => {
      slack.addChannel({ id: 'C0ZED', name: 'zed' }).addChannel({ id: 'C0OLD', name: 'old', isArchived: true });
      slack.addChannel({ id: 'G0SEC', name: 'secret', isPrivate: true }).addChannel({ id: 'G0HID', name: 'hidden', isPrivate: true, botIsMember: false });
      slack.addChannel({ id: 'C0ALPHA', name: 'alpha' });
      slack.maxPageSize = 2;
      try {
        const items = await slackProvider.options!.channels({ connection, http: http127, query: {} });
        assert.deepEqual(items, [
          { value: 'C0ALPHA', label: '#alpha' },
          { value: 'C0OPS', label: '#ops' },
          { value: 'G0SEC', label: '#secret (private)' },
          { value: 'C0ZED', label: '#zed' },
        ]);
        const calls = slack.calls('conversations.list');
        assert.equal(calls.length, 2);
        assert.equal(calls[0].query.get('types'), 'public_channel,private_channel');
        assert.equal(calls[0].query.get('exclude_archived'), 'true');
        assert.equal(calls[1].query.get('cursor'), Buffer.from('offset:2').toString('base64'));
      } finally {
        slack.maxPageSize = 200;
        for (const id of ['C0ZED', 'C0OLD', 'G0SEC', 'G0HID', 'C0ALPHA']) slack.channels.delete(id);
      }
    });
  });
});
