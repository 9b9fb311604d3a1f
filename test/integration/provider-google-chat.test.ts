import assert from 'node:assert/strict';
import { FakeGoogleChat } from '../fakes/google-chat';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';

describe('google-chat provider through the pipeline (real Temporal, PostgreSQL, fake Chat webhook)', function () {
  this.timeout(120_000);
  const suite = pipelineSuite({ database: 'provider_google_chat', fake: () => new FakeGoogleChat().start() });
  let hub: Hub;
  let fake: FakeGoogleChat;
  before(() => {
    ({ hub, fake } = suite);
  });

  const subscribe = (webhookUrl: string, event = 'incident.created', config: Record<string, unknown> = {}) => suite.subscribe({
    name: `chat ${event}`,
    provider: 'google-chat',
    event,
    config: { webhookUrl, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, payload: Record<string, unknown>) => suite.ingest(event, undefined, payload);
  const settled = (id: string, status = 'success') => suite.settled(id, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId,
    title: `Checkout down ${incidentId}`,
    severity: 'critical',
    status: 'investigating',
    description: 'Error rate <above> 20%.',
    systemIds: ['sys-checkout'],
    url: `https://status.example.com/incidents/${incidentId}`,
    ...extra,
  });

  it('posts a card, masks the webhook URL on read and records the message name', async () => {
    const { space, webhookUrl } = fake.addSpace();
    const sub = await subscribe(webhookUrl);
    assert.deepEqual(sub.config.webhookUrl, { set: true });
    const d = await settled(await ingest('incident.created', incident('inc-card')));
    const [req] = fake.postsTo(space);
    assert.equal(req.headers['content-type'], 'application/json; charset=UTF-8');
    assert.equal(req.query.get('threadKey'), 'incident:inc-card');
    assert.equal(req.query.get('messageReplyOption'), 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
    assert.deepEqual(req.json.thread, { threadKey: 'incident:inc-card' });
    assert.equal(req.json.text, '[CRITICAL] Checkout down inc-card');
    const card = req.json.cardsV2[0].card;
    assert.deepEqual(card.header, { title: '[CRITICAL] Checkout down inc-card', subtitle: 'Incident created' });
    const widgets = card.sections[0].widgets;
    assert.deepEqual(widgets[0], { decoratedText: { topLabel: 'Status', text: 'investigating' } });
    assert.ok(widgets.some((w: any) => w.textParagraph?.text === 'Error rate &#60;above&#62; 20%.'), JSON.stringify(widgets));
    assert.deepEqual(widgets.at(-1), { buttonList: { buttons: [{ text: 'View details', onClick: { openLink: { url: 'https://status.example.com/incidents/inc-card' } } }] } });
    assert.equal(d.externalId, fake.messagesIn(space)[0].name);
  });

  it('refuses a URL that is not a Chat incoming webhook, naming the field without echoing it', async () => {
    const url = `${fake.origin}/v1/spaces/AAAA/messages?key=k-123456`;
    const res = await hub.call('POST', '/subscriptions', { name: 'bad', provider: 'google-chat', event: 'incident.created', config: { webhookUrl: url } });
    assert.equal(res.status, 400);
    assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['config.webhookUrl']);
    assert.ok(!JSON.stringify(res.body).includes('k-123456'));
  });

  it('previews the card for the event\'s example with the webhook URL masked, and sends nothing', async () => {
    const { space, webhookUrl } = fake.addSpace();
    const example = (await hub.call('GET', '/events/incident.created')).body.example;
    const res = await hub.call('POST', '/subscriptions/preview', { name: 'p', provider: 'google-chat', event: 'incident.created', config: { webhookUrl } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    assert.equal(req.method, 'POST');
    assert.ok(!req.url.includes(new URL(webhookUrl).searchParams.get('token')!), req.url);
    assert.equal(JSON.parse(req.body).cardsV2[0].card.header.title, `Test: [${String(example.severity).toUpperCase()}] ${example.title}`);
    assert.equal(fake.postsTo(space).length, 0, 'nothing went over the wire');
  });

  it('replies to the first message\'s thread on updates and the resolution', async () => {
    const { space, webhookUrl } = fake.addSpace();
    await subscribe(webhookUrl, 'incident.created');
    await subscribe(webhookUrl, 'incident.updated');
    await subscribe(webhookUrl, 'incident.resolved');
    const created = await settled(await ingest('incident.created', incident('inc-thread')));
    const updated = await settled(await ingest('incident.updated', incident('inc-thread', { status: 'identified', updateMessage: 'Rolled back.' })));
    const resolved = await settled(await ingest('incident.resolved', incident('inc-thread', { status: 'resolved' })));
    assert.equal(updated.externalId, created.externalId);
    assert.equal(resolved.externalId, created.externalId);
    const messages = fake.messagesIn(space);
    assert.equal(messages.length, 3);
    assert.equal(new Set(messages.map((m) => m.thread.name)).size, 1, 'all three in one thread');
    assert.equal(messages[2].cardsV2![0].card.header.title, 'Resolved: Checkout down inc-thread');
    // another subject gets its own thread
    await settled(await ingest('incident.created', incident('inc-other')));
    assert.notEqual(fake.messagesIn(space)[3].thread.name, messages[0].thread.name);
  });

  it('retries a 429 and a 503 (honouring Retry-After) and then succeeds', async () => {
    const { space, webhookUrl } = fake.addSpace();
    await subscribe(webhookUrl);
    fake.script.push({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
    const d = await settled(await ingest('incident.created', incident('inc-retry')));
    assert.equal(d.attempts, 3);
    const posts = fake.postsTo(space);
    assert.equal(posts.length, 3);
    assert.ok(posts[1].at - posts[0].at >= 1000, `waited ${posts[1].at - posts[0].at} ms after Retry-After: 1`);
  });

  it('fails a 400 at once, without a pause', async () => {
    const { webhookUrl } = fake.addSpace();
    const sub = await subscribe(webhookUrl);
    fake.script.push({ status: 400, body: { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' } } });
    const d = await settled(await ingest('incident.created', incident('inc-400')), 'failed');
    assert.equal(d.attempts, 1);
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.equal(s.body.enabled, true);
    assert.equal(s.body.pausedReason ?? null, null);
  });

  it('pauses the subscription when the webhook is gone (404)', async () => {
    const { space, webhookUrl } = fake.addSpace();
    const sub = await subscribe(webhookUrl);
    fake.removeSpace(space);
    const d = await settled(await ingest('incident.created', incident('inc-gone')), 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].httpStatus, 404);
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.match(s.body.pausedReason, /webhook or its space was deleted/);
  });

  it('never lets the webhook key or token reach the database, responses or logs', async () => {
    const { webhookUrl } = fake.addSpace();
    const sub = await subscribe(webhookUrl);
    const token = new URL(webhookUrl).searchParams.get('token')!;
    // Chat echoing the request URL back in an error
    fake.script.push({ status: 400, body: { error: { code: 400, message: `bad request to ${webhookUrl} (token ${token})`, status: 'INVALID_ARGUMENT' } } });
    const id = await ingest('incident.created', incident('inc-secret'));
    const d = await settled(id, 'failed');
    assert.match(d.attemptLog[0].error, /INVALID_ARGUMENT/);
    const dump =
      JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records')) +
      JSON.stringify((await hub.call('GET', `/subscriptions/${sub.id}`)).body) +
      JSON.stringify(d) +
      hub.logs.join('\n');
    assert.ok(!dump.includes(token), 'the webhook token leaked');
    assert.ok(!dump.includes(fake.key), 'the webhook key leaked');
  });
});
