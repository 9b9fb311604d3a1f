import assert from 'node:assert/strict';
import { FakeDiscord } from '../fakes/discord';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const HOOK_ID = '1234567890123';
const TOKEN = 'hook-token-Zx81kq-3mPd0a9WcL2';
const GONE_ID = '999000999000';

describe('discord provider through the pipeline (real Temporal, PostgreSQL, fake webhook API)', function () {
  this.timeout(120_000);
  // the example plugin keeps loading beside the built-in, under its own id
  const suite = pipelineSuite({
    database: 'provider_discord',
    fake: async () => {
      const fake = await new FakeDiscord().start();
      fake.addWebhook(HOOK_ID, TOKEN);
      return fake;
    },
    env: { PROVIDER_PLUGINS: './examples/provider-plugin-discord' },
  });
  let hub: Hub;
  let fake: FakeDiscord;
  before(() => {
    ({ hub, fake } = suite);
  });

  const subscribe = (event: string, config: Record<string, unknown> = {}) => suite.subscribe({
    name: `discord ${event}`,
    provider: 'discord',
    event,
    config: { webhookUrl: `https://discord.com/api/webhooks/${HOOK_ID}/${TOKEN}`, apiBaseUrl: fake.url, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, id: string, payload: Record<string, unknown>) => suite.ingest(event, id, { systemIds: ['sys-web'], ...payload });
  const settled = (id: string, status = 'success') => suite.settled(id, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId, title: `Website down ${incidentId}`, severity: 'critical', status: 'investigating', ...extra,
  });

  it('lists the built-in beside the example plugin, and refuses a URL that is not a Discord webhook', async () => {
    const providers = (await hub.call('GET', '/providers')).body.items as { id: string; source: string }[];
    assert.equal(providers.find((p) => p.id === 'discord')?.source, 'builtin');
    assert.equal(providers.find((p) => p.id === 'discord-example')?.source, '@integrations-hub/provider-discord@0.1.0');
    const bad = await hub.call('POST', '/subscriptions', {
      name: 'x', provider: 'discord', event: 'incident.created', config: { webhookUrl: 'https://example.com/api/webhooks/1/abc' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { path: string }) => e.path), ['config.webhookUrl']);
  });

  it('posts with wait=true, keeps the message id, and edits that message for the update and the resolution', async () => {
    const sub = await subscribe('incident.created', { username: 'Status' });
    assert.deepEqual(sub.config.webhookUrl, { set: true });
    await subscribe('incident.updated');
    await subscribe('incident.resolved');
    const created = await settled(await ingest('incident.created', 'evt-dc-1', incident('inc-dc', { url: 'https://status.example.com/i/inc-dc' })));
    const [post] = fake.at('POST');
    assert.equal(post.path, `/api/webhooks/${HOOK_ID}/${TOKEN}`);
    assert.equal(post.query.get('wait'), 'true');
    assert.equal(post.json.username, 'Status');
    assert.deepEqual(post.json.allowed_mentions, { parse: [] });
    assert.equal(post.json.embeds[0].title, 'Website down inc-dc');
    assert.equal(post.json.embeds[0].url, 'https://status.example.com/i/inc-dc');
    const message = fake.messages.get(created.externalId)!;
    assert.ok(message, `the message id ${created.externalId} is the one Discord gave`);

    const updated = await settled(await ingest('incident.updated', 'evt-dc-2', incident('inc-dc', { status: 'identified', updateMessage: 'CDN misconfigured.' })));
    const resolved = await settled(await ingest('incident.resolved', 'evt-dc-3', incident('inc-dc', { status: 'resolved' })));
    assert.deepEqual([updated.externalId, resolved.externalId], [created.externalId, created.externalId]);
    assert.deepEqual(fake.at('PATCH').map((r) => r.path), [
      `/api/webhooks/${HOOK_ID}/${TOKEN}/messages/${created.externalId}`,
      `/api/webhooks/${HOOK_ID}/${TOKEN}/messages/${created.externalId}`,
    ]);
    assert.equal(fake.at('POST').length, 1, 'no second message');
    assert.equal(message.edits, 2);
    assert.equal(message.embeds[0].title, '✅ Website down inc-dc');
  });

  it('posts a fresh message when the one to edit was deleted (10008), and it becomes the record', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    const created = await settled(await ingest('incident.created', 'evt-dc-del-1', incident('inc-dc-del')));
    fake.messages.delete(created.externalId);
    const updated = await settled(await ingest('incident.updated', 'evt-dc-del-2', incident('inc-dc-del', { status: 'identified' })));
    assert.notEqual(updated.externalId, created.externalId);
    assert.ok(fake.messages.get(updated.externalId));
    assert.deepEqual(fake.requests.slice(-2).map((r) => r.method), ['PATCH', 'POST']);
  });

  it('waits the retry_after of a 429 (body and headers) before trying again, and retries a 502', async () => {
    await subscribe('incident.created');
    fake.script.push({ status: 429, body: { message: 'You are being rate limited.', retry_after: 1.5, global: false }, headers: { 'retry-after': '2', 'x-ratelimit-reset-after': '1.500', 'x-ratelimit-scope': 'user' } });
    fake.script.push({ status: 502, body: { message: 'Bad Gateway', code: 0 } });
    const d = await settled(await ingest('incident.created', 'evt-dc-429', incident('inc-dc-429')));
    const [first, second] = fake.at('POST');
    assert.ok(second.at - first.at >= 1500, `second attempt came after ${second.at - first.at} ms`);
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
      ['retryable', 429],
      ['retryable', 502],
      ['success', 200],
    ]);
    assert.match(d.attemptLog[0].error, /HTTP 429 from Discord: You are being rate limited\./);
  });

  it('fails a 404 unknown webhook at once and pauses the subscription', async () => {
    const sub = await subscribe('incident.created', { webhookUrl: `https://discord.com/api/webhooks/${GONE_ID}/${TOKEN}` });
    const d = await settled(await ingest('incident.created', 'evt-dc-404', incident('inc-dc-404')), 'failed');
    assert.equal(d.attempts, 1);
    assert.match(d.error, /HTTP 404 from Discord: Unknown Webhook \(code 10015\)/);
    assert.match((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason ?? '', /webhook does not exist or its token is invalid/);
  });

  it('fails a 400 invalid form body without pausing', async () => {
    const sub = await subscribe('incident.created');
    fake.script.push({ status: 400, body: { message: 'Invalid Form Body', code: 50035, errors: {} } });
    const d = await settled(await ingest('incident.created', 'evt-dc-400', incident('inc-dc-400')), 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].errorCode, 'discord_50035');
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
  });

  it('previews the post it would make with the webhook token replaced, sending nothing', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', {
      name: 'preview', provider: 'discord', event: 'incident.created',
      config: { webhookUrl: `https://discord.com/api/webhooks/${HOOK_ID}/${TOKEN}`, apiBaseUrl: fake.url },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    assert.equal(req.method, 'POST');
    assert.match(req.url, new RegExp(`^${fake.url}/webhooks/${HOOK_ID}/.+\\?wait=true$`));
    assert.ok(JSON.parse(req.body).embeds[0].title);
    assert.ok(!JSON.stringify(res.body).includes(TOKEN));
    assert.equal(fake.requests.length, 0, 'nothing went over the wire');
  });

  it('never lets the webhook token reach the database, API responses, logs or the workflow history', async () => {
    await subscribe('incident.created');
    fake.script.push({ status: 400, body: { message: `bad token ${TOKEN}`, code: 50035 } });
    const d = await settled(await ingest('incident.created', 'evt-dc-secret', incident('inc-dc-secret')), 'failed');
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify(d) + JSON.stringify((await hub.call('GET', '/subscriptions')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    assert.ok(!dump.includes(TOKEN), 'database');
    assert.ok(!api.includes(TOKEN), 'API');
    assert.ok(!hub.logs.join('\n').includes(TOKEN), 'logs');
    assert.ok(!history.includes(TOKEN), 'history');
    assert.ok(history.length > 1000 && dump.includes('delivery'), 'the dumps hold something');
  });
});
