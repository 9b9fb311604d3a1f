import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub } from '../support/hub';

describe('subscription preview: what would be sent for the example, sent nowhere', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  const TOKEN = 'preview-bearer-token-5f1c9a';

  before(async () => {
    receiver = await new Receiver().start();
    hub = await Hub.start('subscription_preview');
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  const webhook = (config: Record<string, unknown> = {}) => ({
    name: 'preview me', provider: 'webhook', event: 'incident.created',
    config: { url: `${receiver.url}/p`, auth: { type: 'bearer', token: TOKEN }, bodyTemplate: '{"text":"{{payload.title}} ({{payload.severity}})"}', ...config },
  });

  it("renders the provider's request for the event's example, with secrets replaced, and sends nothing", async () => {
    const example = (await hub.call('GET', '/events/incident.created')).body.example;
    const res = await hub.call('POST', '/subscriptions/preview', webhook());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, `${receiver.url}/p`);
    assert.equal(req.body, `{"text":"${example.title} (${example.severity})"}`);
    assert.equal(req.headers.authorization ?? req.headers.Authorization, '[redacted]');
    assert.ok(!JSON.stringify(res.body).includes(TOKEN));
    assert.equal(receiver.received.length, 0, 'nothing went over the wire');
    assert.equal((await hub.dataSource.query(`SELECT count(*)::int AS n FROM subscriptions`))[0].n, 0, 'nothing saved');
  });

  it('answers a wrong config with the same field problems as create', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', webhook({ url: 'ftp://x' }));
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['config.url']);
    const unknown = await hub.call('POST', '/subscriptions/preview', { ...webhook(), extra: 1 });
    assert.equal(unknown.status, 400);
  });

  it('takes the stored secrets of the subscription being edited', async () => {
    const created = await hub.call('POST', '/subscriptions', webhook());
    assert.equal(created.status, 201);
    const masked = created.body.config;
    assert.deepEqual(masked.auth.token, { set: true });
    const res = await hub.call('POST', '/subscriptions/preview', { ...webhook({ auth: masked.auth }), subscriptionId: created.body.id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.requests[0].headers.authorization ?? res.body.requests[0].headers.Authorization, '[redacted]');
    const without = await hub.call('POST', '/subscriptions/preview', webhook({ auth: masked.auth }));
    assert.equal(without.status, 400, 'a mask without the stored subscription is no token');
  });

  it('refuses a provider whose code runs only on the workers (script) with 422 naming provider', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', {
      name: 'js', provider: 'script', event: 'incident.created', config: { source: 'async function deliver(event) {\n  return { ok: true };\n}' },
    });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['provider']);
  });
});
