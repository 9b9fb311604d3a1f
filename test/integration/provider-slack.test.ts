import assert from 'node:assert/strict';
import { slackProvider } from '../../providers/slack';
import { FakeSlack } from '../fakes/slack';
import { INGEST_TOKEN, type Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const TOKEN = 'xoxb-7001-8002-integrationBotTokenValue';
const REVOKED_TOKEN = 'xoxb-7001-8002-revokedBotTokenValue';
const UNKNOWN_TOKEN = 'xoxb-7001-8002-unknownBotTokenValue';
const HOOK_SECRET = 'hookSecretPartQ7vLw2';

describe('slack provider through the pipeline (real Temporal, PostgreSQL and a fake Slack)', function () {
  this.timeout(120_000);
  // the fake is reset before each test (its requests, messages and scripted answers)
  const suite = pipelineSuite({
    database: 'slack',
    fake: async () => {
      const slack = await new FakeSlack().start();
      slack.addToken(TOKEN).addToken(REVOKED_TOKEN, { error: 'token_revoked' });
      slack.addChannel({ id: 'C0OPS', name: 'ops' }).addChannel({ id: 'C0INC', name: 'incidents' });
      slack.addChannel({ id: 'C0ARCH', name: 'old-ops', isArchived: true }).addChannel({ id: 'C0NOBOT', name: 'quiet', botIsMember: false });
      return slack;
    },
    providers: [slackProvider],
  });
  let hub: Hub;
  let slack: FakeSlack;
  let connectionId: string;

  before(async () => {
    ({ hub, fake: slack } = suite);
    connectionId = (await connect('Acme Slack', TOKEN)).id;
  });

  async function connect(name: string, botToken: string) {
    const res = await hub.call('POST', '/connections', { provider: 'slack', name, config: { botToken, apiBaseUrl: slack.apiBaseUrl } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; config: Record<string, unknown> };
  }

  const subscribe = (event: string, config: Record<string, unknown>, connection: string | null = connectionId) => suite.subscribe({
    name: `slack ${event}`,
    provider: 'slack',
    event,
    config,
    ...(connection ? { connectionId: connection } : {}),
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, incidentId: string, extra: Record<string, unknown> = {}) => suite.ingest(event, `${event}-${incidentId}`, {
    incidentId, title: `Checkout down ${incidentId}`, severity: 'major', url: `https://status.example.com/i/${incidentId}`, ...extra,
  });
  const settled = (deliveryId: string, status = 'success') => suite.settled(deliveryId, status);

  const tsOf = (externalId: string) => externalId.split(':')[1];

  it('stores the connection with the token masked, tests it and lists channels through the API', async () => {
    const got = await hub.call('GET', `/connections/${connectionId}`);
    assert.deepEqual(got.body.config, { botToken: { set: true }, apiBaseUrl: slack.apiBaseUrl });
    const test = await hub.call('POST', `/connections/${connectionId}/test`);
    assert.deepEqual(test.body, { ok: true, message: 'Connected to Acme Ops as hubbot' });
    assert.equal(slack.calls('auth.test')[0].headers.authorization, `Bearer ${TOKEN}`);
    const options = await hub.call('GET', `/connections/${connectionId}/options/channels`);
    assert.equal(options.status, 200);
    assert.deepEqual(options.body, [
      { value: 'C0INC', label: '#incidents' },
      { value: 'C0OPS', label: '#ops' },
      { value: 'C0NOBOT', label: '#quiet' },
    ]);
    const wrong = await connect('Wrong token', UNKNOWN_TOKEN);
    const refused = await hub.call('POST', `/connections/${wrong.id}/test`);
    assert.equal(refused.body.ok, false);
    assert.match(refused.body.message, /invalid_auth/);
    assert.ok(!refused.body.message.includes(UNKNOWN_TOKEN));
  });

  it('refuses a channel subscription without a connection at save time, naming connectionId', async () => {
    const res = await hub.call('POST', '/subscriptions', { name: 'no bot', provider: 'slack', event: 'incident.created', config: { channel: 'C0OPS' } });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['connectionId']);
    // and removing the connection of a channel subscription is refused the same way
    const sub = await subscribe('incident.created', { channel: 'C0OPS' });
    const patch = await hub.call('PATCH', `/subscriptions/${sub.id}`, { connectionId: null });
    assert.equal(patch.status, 400, JSON.stringify(patch.body));
    assert.deepEqual(patch.body.errors.map((e: { path: string }) => e.path), ['connectionId']);
  });

  it('posts a Block Kit message with the bot token and records <channel>:<ts> as the external id', async () => {
    await subscribe('incident.created', { channel: 'C0OPS' });
    const d = await settled(await ingest('incident.created', 'inc-post', { description: 'Error rate <20%> & rising' }));
    const [call] = slack.calls('chat.postMessage');
    assert.equal(call.path, '/api/chat.postMessage');
    assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(call.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(call.json.channel, 'C0OPS');
    assert.equal(call.json.text, 'Incident created: Checkout down inc-post (major)');
    assert.deepEqual(call.json.blocks.map((b: { type: string }) => b.type), ['header', 'section', 'section', 'context']);
    assert.equal(call.json.blocks[0].text.text, ':large_orange_circle: Checkout down inc-post');
    assert.equal(call.json.blocks[2].text.text, 'Error rate &lt;20%&gt; &amp; rising');
    assert.match(call.json.blocks[3].elements[0].text, /^<https:\/\/status\.example\.com\/i\/inc-post\|View details>/);
    const [message] = slack.topLevel('C0OPS');
    assert.equal(d.externalId, `C0OPS:${message.ts}`);
    assert.equal(d.attemptLog[0].httpStatus, 200);
  });

  it('edits the same message for incident.updated and incident.resolved (update mode), ending in the resolved look', async () => {
    await subscribe('incident.created', { channel: 'C0INC', mentions: ['here'] });
    await subscribe('incident.updated', { channel: 'C0INC' });
    await subscribe('incident.resolved', { channel: 'C0INC', followUpMode: 'update' });
    const first = await settled(await ingest('incident.created', 'inc-upd'));
    const second = await settled(await ingest('incident.updated', 'inc-upd', { status: 'identified', updateMessage: 'Rolled back' }));
    const third = await settled(await ingest('incident.resolved', 'inc-upd', { status: 'resolved', resolutionMessage: 'Fixed for good' }));
    assert.equal(second.externalId, first.externalId);
    assert.equal(third.externalId, first.externalId);
    assert.equal(slack.calls('chat.postMessage').length, 1, 'one message for the whole incident');
    const updates = slack.calls('chat.update');
    assert.deepEqual(updates.map((u) => [u.json.channel, u.json.ts]), [['C0INC', tsOf(first.externalId)], ['C0INC', tsOf(first.externalId)]]);
    const [message] = slack.topLevel('C0INC');
    assert.equal(message.edits, 2);
    assert.equal(message.blocks![0].text.text, ':white_check_mark: Resolved: Checkout down inc-upd');
    assert.ok(JSON.stringify(message.blocks).includes('Fixed for good'));
    assert.ok(!message.text!.includes('<!here>'), 'the edit drops the mention');
  });

  it('replies in the thread in thread mode, broadcasting the resolution and resolving the original', async () => {
    await subscribe('incident.created', { channel: 'C0INC', followUpMode: 'thread' });
    await subscribe('incident.updated', { channel: 'C0INC', followUpMode: 'thread' });
    await subscribe('incident.resolved', { channel: 'C0INC', followUpMode: 'thread' });
    const first = await settled(await ingest('incident.created', 'inc-thread'));
    const second = await settled(await ingest('incident.updated', 'inc-thread', { status: 'identified', updateMessage: 'Rolled back' }));
    const third = await settled(await ingest('incident.resolved', 'inc-thread', { status: 'resolved' }));
    assert.equal(second.externalId, first.externalId);
    assert.equal(third.externalId, first.externalId);
    const posts = slack.calls('chat.postMessage');
    assert.deepEqual(posts.map((p) => [p.json.thread_ts, p.json.reply_broadcast]), [
      [undefined, undefined],
      [tsOf(first.externalId), false],
      [tsOf(first.externalId), true],
    ]);
    const original = slack.message('C0INC', tsOf(first.externalId))!;
    assert.equal(original.blocks![0].text.text, ':white_check_mark: Resolved: Checkout down inc-thread');
  });

  it('posts a replacement when the original message was deleted, and later follow-ups edit the replacement', async () => {
    await subscribe('incident.created', { channel: 'C0OPS' });
    await subscribe('incident.updated', { channel: 'C0OPS' });
    await subscribe('incident.resolved', { channel: 'C0OPS' });
    const first = await settled(await ingest('incident.created', 'inc-deleted'));
    slack.deleteMessage('C0OPS', tsOf(first.externalId));
    const second = await settled(await ingest('incident.updated', 'inc-deleted', { status: 'identified' }));
    const [replacement] = slack.topLevel('C0OPS');
    assert.equal(second.externalId, `C0OPS:${replacement.ts}`);
    assert.notEqual(second.externalId, first.externalId);
    const third = await settled(await ingest('incident.resolved', 'inc-deleted'));
    assert.equal(third.externalId, second.externalId);
    assert.equal(slack.calls('chat.update').at(-1)!.json.ts, replacement.ts);
    assert.equal(slack.topLevel('C0OPS').length, 1);
  });

  it('does not retry a 429 sooner than its Retry-After', async () => {
    await subscribe('incident.created', { channel: 'C0OPS' });
    slack.script('chat.postMessage', { retryAfter: 2 });
    const d = await settled(await ingest('incident.created', 'inc-429'));
    const [first, second] = slack.calls('chat.postMessage');
    assert.ok(second.at - first.at >= 2000, `second attempt came after ${second.at - first.at} ms`);
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number; errorCode: string }) => [a.outcome, a.httpStatus, a.errorCode ?? null]), [
      ['retryable', 429, 'ratelimited'],
      ['success', 200, null],
    ]);
  });

  it("retries Slack's HTTP-200 internal_error and then succeeds", async () => {
    await subscribe('incident.created', { channel: 'C0OPS' });
    slack.script('chat.postMessage', { error: 'internal_error' });
    const d = await settled(await ingest('incident.created', 'inc-internal'));
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; errorCode: string }) => [a.outcome, a.errorCode ?? null]), [
      ['retryable', 'internal_error'],
      ['success', null],
    ]);
  });

  const pausing: Array<{ error: string; channel: string; token?: string; reason: RegExp }> = [
    { error: 'channel_not_found', channel: 'C0GONE', reason: /Slack channel C0GONE was not found/ },
    { error: 'is_archived', channel: 'C0ARCH', reason: /Slack channel C0ARCH is archived/ },
    { error: 'token_revoked', channel: 'C0OPS', token: REVOKED_TOKEN, reason: /bot token \(token_revoked\)/ },
    { error: 'invalid_auth', channel: 'C0OPS', token: UNKNOWN_TOKEN, reason: /bot token \(invalid_auth\)/ },
  ];
  for (const c of pausing) {
    it(`treats Slack ${c.error} as permanent and pauses the subscription`, async () => {
      const conn = c.token ? (await connect(`conn ${c.error}`, c.token)).id : connectionId;
      const sub = await subscribe('incident.created', { channel: c.channel }, conn);
      const d = await settled(await ingest('incident.created', `inc-${c.error}`), 'failed');
      assert.equal(d.attempts, 1);
      assert.equal(d.attemptLog[0].errorCode, c.error);
      assert.match(d.error, new RegExp(c.error));
      const s = await hub.call('GET', `/subscriptions/${sub.id}`);
      assert.match(s.body.pausedReason, c.reason);
    });
  }

  it('treats not_in_channel as permanent without pausing, telling the admin to invite the bot', async () => {
    const sub = await subscribe('incident.created', { channel: 'C0NOBOT' });
    const d = await settled(await ingest('incident.created', 'inc-nobot'), 'failed');
    assert.equal(d.attempts, 1);
    assert.match(d.error, /not_in_channel.*invite it/);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
  });

  it('posts through an incoming webhook without auth or external id; each follow-up is a new message', async () => {
    const url = slack.addHook(`/services/T0ACME/B0HOOK/${HOOK_SECRET}`, 'C0OPS');
    const created = await subscribe('incident.created', { webhookUrl: url }, null);
    await subscribe('incident.updated', { webhookUrl: url }, null);
    assert.deepEqual((await hub.call('GET', `/subscriptions/${created.id}`)).body.config, { webhookUrl: { set: true } });
    const first = await settled(await ingest('incident.created', 'inc-hook'));
    const second = await settled(await ingest('incident.updated', 'inc-hook', { status: 'identified' }));
    assert.equal(first.externalId, null);
    assert.equal(second.externalId, null);
    const calls = slack.calls('hook');
    assert.equal(calls.length, 2);
    assert.equal(calls[0].headers.authorization, undefined);
    assert.equal(calls[0].json.blocks[0].type, 'header');
    assert.equal(slack.topLevel('C0OPS').length, 2);
  });

  for (const [error, paused] of [['no_service', true], ['channel_is_archived', true], ['invalid_payload', false]] as const) {
    it(`treats the incoming webhook's ${error} as permanent${paused ? ' and pauses the subscription' : ' without pausing'}`, async () => {
      const url = slack.addHook(`/services/T0ACME/B0${error.toUpperCase()}/${HOOK_SECRET}`, 'C0OPS');
      slack.script('hook', { error });
      const sub = await subscribe('incident.created', { webhookUrl: url }, null);
      const d = await settled(await ingest('incident.created', `inc-hook-${error}`), 'failed');
      assert.equal(d.attempts, 1);
      assert.equal(d.attemptLog[0].errorCode, error);
      const s = await hub.call('GET', `/subscriptions/${sub.id}`);
      if (paused) assert.match(s.body.pausedReason, new RegExp(error));
      else assert.equal(s.body.pausedReason, null);
    });
  }

  it('never lets the bot token or the webhook URL reach the database, responses, logs or Temporal history', async () => {
    const url = slack.addHook(`/services/T0ACME/B0LEAK/${HOOK_SECRET}`, 'C0OPS');
    await subscribe('incident.created', { channel: 'C0OPS' });
    await subscribe('incident.created', { webhookUrl: url }, null);
    // both answer with errors that echo the secret back
    slack.script('chat.postMessage', { error: 'invalid_blocks', extra: { response_metadata: { messages: [`[ERROR] token ${TOKEN} rejected`] } } });
    slack.script('hook', { status: 400, body: `invalid_payload for ${url}` });
    const res = await hub.call('POST', '/ingest', { event: 'incident.created', id: 'evt-slack-secret', payload: { incidentId: 'inc-secret', title: 't', severity: 'minor' } }, INGEST_TOKEN);
    const deliveries = await Promise.all(res.body.deliveries.map((x: { id: string }) => settled(x.id, 'failed')));
    assert.equal(deliveries.length, 2);
    const secrets = [TOKEN, url, HOOK_SECRET];
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts'));
    const api = JSON.stringify((await hub.call('GET', '/subscriptions')).body) + JSON.stringify((await hub.call('GET', '/connections')).body) +
      JSON.stringify(deliveries) + JSON.stringify((await hub.call('GET', '/deliveries')).body);
    const stack = await getStack();
    const histories = await Promise.all(deliveries.map((d) => closedHistory(stack.client, d.workflowId)));
    histories.forEach((h, i) => assertHoldsAttempts(h, deliveries[i]));
    const history = historyText(histories);
    const logs = hub.logs.join('\n');
    for (const s of secrets) {
      assert.ok(!dump.includes(s), `database holds ${s}`);
      assert.ok(!api.includes(s), `API shows ${s}`);
      assert.ok(!logs.includes(s), `logs hold ${s}`);
      assert.ok(!history.includes(s) && !history.includes(Buffer.from(s).toString('base64')), `history holds ${s}`);
    }
    assert.ok(hub.logs.length > 0 && history.length > 1000, 'logs and history were read');
    assert.ok(deliveries.some((d) => /invalid_blocks/.test(d.error)) && deliveries.some((d) => /invalid_payload/.test(d.error)));
  });

  it('keeps a bot token that Slack echoes in its error code out of error_code, the API, logs and history, bounded to 100 characters', async () => {
    await subscribe('incident.created', { channel: 'C0OPS' });
    slack.script('chat.postMessage', { error: `${'e'.repeat(120)}_${TOKEN}`, status: 503 }, { error: `invalid_arguments:${TOKEN}` });
    const d = await settled(await ingest('incident.created', 'inc-echo'), 'failed');
    const codes = d.attemptLog.map((a: { errorCode: string }) => a.errorCode);
    assert.equal(codes.length, 2, JSON.stringify(d.attemptLog));
    assert.match(codes[1], /^invalid_arguments:/);
    assert.ok(codes.every((c: string) => c.length <= 100), JSON.stringify(codes));
    const rows: { error_code: string }[] = await hub.dataSource.query('SELECT error_code FROM delivery_attempts WHERE delivery_id = $1', [d.id]);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    const api = JSON.stringify((await hub.call('GET', `/deliveries/${d.id}`)).body);
    for (const [where, text] of [['database', JSON.stringify(rows)], ['API', api], ['history', history], ['logs', hub.logs.join('\n')]]) {
      assert.ok(!text.includes(TOKEN) && !text.includes('integrationBotTokenValue'), `${where} holds the bot token`);
    }
  });
});
