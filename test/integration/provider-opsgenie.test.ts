import assert from 'node:assert/strict';
import { FakeOpsgenie } from '../fakes/opsgenie';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const KEY = 'c0ffee00-1234-4abc-9def-0123456789ab';

describe('opsgenie provider through the pipeline (real Temporal, PostgreSQL, fake Alert API)', function () {
  this.timeout(120_000);
  const suite = pipelineSuite({ database: 'provider_opsgenie', fake: () => new FakeOpsgenie(KEY).start() });
  let hub: Hub;
  let fake: FakeOpsgenie;
  before(() => {
    ({ hub, fake } = suite);
  });

  const subscribe = (event: string, config: Record<string, unknown> = {}) => suite.subscribe({
    name: `opsgenie ${event}`,
    provider: 'opsgenie',
    event,
    config: { apiKey: KEY, region: 'eu', apiBaseUrl: fake.url, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, id: string, payload: Record<string, unknown>) => suite.ingest(event, id, { systemIds: ['sys-pay'], ...payload });
  const settled = (id: string, status = 'success') => suite.settled(id, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId, title: `Payments failing ${incidentId}`, severity: 'critical', status: 'investigating', ...extra,
  });

  it('creates an alert with the subject as alias, notes the update, closes it on resolve', async () => {
    const sub = await subscribe('incident.created', { tags: ['payments'] });
    assert.deepEqual(sub.config.apiKey, { set: true });
    await subscribe('incident.updated');
    await subscribe('incident.resolved');
    const created = await settled(await ingest('incident.created', 'evt-og-1', incident('inc-og', { description: 'Card payments time out.' })));
    assert.equal(created.externalId, 'hub:incident:inc-og');
    const [create] = fake.requests;
    assert.equal(create.path, '/v2/alerts');
    assert.equal(create.headers.authorization, `GenieKey ${KEY}`);
    assert.deepEqual(
      { message: create.json.message, alias: create.json.alias, priority: create.json.priority, tags: create.json.tags, entity: create.json.entity, source: create.json.source },
      { message: 'Payments failing inc-og', alias: 'hub:incident:inc-og', priority: 'P1', tags: ['payments', 'incident.created'], entity: 'sys-pay', source: 'Integrations Hub' },
    );
    assert.match(create.json.description, /Card payments time out\./);
    assert.equal(create.json.details.incidentId, 'inc-og');
    // the 202 is asynchronous: its requestId is kept in the attempt's log
    // the 202 is asynchronous: the provider looked the request up, and the log keeps its requestId and result
    assert.match(created.attemptLog[0].log, /^Opsgenie accepted creation of alert hub:incident:inc-og \(requestId [0-9a-f-]{36}\); processed: Alert created$/);
    const lookup = fake.requests.find((r) => r.method === 'GET')!;
    assert.match(lookup.path, /^\/v2\/alerts\/requests\/[0-9a-f-]{36}$/);
    assert.equal(lookup.headers.authorization, `GenieKey ${KEY}`);
    assert.ok(fake.byAlias('hub:incident:inc-og'));

    await settled(await ingest('incident.updated', 'evt-og-2', incident('inc-og', { status: 'identified', updateMessage: 'Gateway timeouts.' })));
    const posts = () => fake.requests.filter((r) => r.method === 'POST');
    const note = posts()[1];
    assert.equal(note.path, '/v2/alerts/hub%3Aincident%3Ainc-og/notes');
    assert.equal(note.query.get('identifierType'), 'alias');
    assert.match(note.json.note, /^Incident updated: Payments failing inc-og \(identified\)\nGateway timeouts\./);

    const resolved = await settled(await ingest('incident.resolved', 'evt-og-3', incident('inc-og', { status: 'resolved' })));
    assert.equal(resolved.externalId, 'hub:incident:inc-og');
    const close = posts()[2];
    assert.equal(close.path, '/v2/alerts/hub%3Aincident%3Ainc-og/close');
    assert.equal(close.query.get('identifierType'), 'alias');
    assert.match(resolved.attemptLog[0].log, /processed: Closed$/);
    const alert = fake.byAlias('hub:incident:inc-og')!;
    assert.equal(alert.status, 'closed');
    assert.equal(alert.notes.length, 2);
    assert.equal(fake.alerts.length, 1, 'one alert for the incident');
  });

  it('honours a 429 and retries a 5xx, then succeeds', async () => {
    await subscribe('incident.created');
    fake.script.push({ status: 429, body: { message: 'Request throttled' }, headers: { 'x-ratelimit-state': 'THROTTLED', 'x-ratelimit-period-in-sec': '1' } });
    fake.script.push({ status: 500, body: { message: 'Internal Server Error' } });
    const d = await settled(await ingest('incident.created', 'evt-og-429', incident('inc-og-429')));
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
      ['retryable', 429],
      ['retryable', 500],
      ['success', 202],
    ]);
    const [first, second] = fake.requests.filter((r) => r.method === 'POST');
    assert.ok(second.at - first.at >= 1000, `waited X-RateLimit-Period-In-Sec: ${second.at - first.at} ms`);
    assert.match(d.attemptLog[0].error, /HTTP 429 from Opsgenie: Request throttled/);
  });

  it('creates the alert when the one a note was for is gone, and reports a request Opsgenie could not process', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    await settled(await ingest('incident.created', 'evt-og-gone-1', incident('inc-og-gone')));
    fake.alerts.splice(0, fake.alerts.length); // deleted in Opsgenie
    const updated = await settled(await ingest('incident.updated', 'evt-og-gone-2', incident('inc-og-gone', { status: 'identified' })));
    assert.match(updated.attemptLog[0].log, /^alert hub:incident:inc-og-gone no longer existed for the note; Opsgenie accepted creation/);
    assert.deepEqual(fake.requests.filter((r) => r.method === 'POST').map((r) => r.path), ['/v2/alerts', '/v2/alerts/hub%3Aincident%3Ainc-og-gone/notes', '/v2/alerts']);
    assert.equal(fake.byAlias('hub:incident:inc-og-gone')?.status, 'open');

    fake.script.push({ method: 'GET', status: 200, body: { data: { success: false, isSuccess: false, action: 'Create', status: 'Team [night-shift] does not exist' } } });
    const failed = await settled(await ingest('incident.created', 'evt-og-gone-3', incident('inc-og-team')), 'failed');
    assert.equal(failed.attempts, 1);
    assert.match(failed.error, /^Opsgenie accepted creation of alert hub:incident:inc-og-team but could not process it: Team \[night-shift\] does not exist/);
  });

  it('fails a 422 at once without pausing, and pauses on a refused key (401)', async () => {
    const sub = await subscribe('incident.created');
    fake.script.push({ status: 422, body: { message: 'Message can not be empty.' } });
    const invalid = await settled(await ingest('incident.created', 'evt-og-422', incident('inc-og-422')), 'failed');
    assert.equal(invalid.attempts, 1);
    assert.match(invalid.error, /^HTTP 422 from Opsgenie: Message can not be empty\./);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);

    fake.keys.delete(KEY);
    try {
      const d = await settled(await ingest('incident.created', 'evt-og-401', incident('inc-og-401')), 'failed');
      assert.equal(d.attempts, 1);
      assert.match((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason ?? '', /Opsgenie rejected the API key/);
    } finally {
      fake.keys.add(KEY);
    }
  });

  it('previews the alert it would create with the key replaced, sending nothing', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', {
      name: 'preview', provider: 'opsgenie', event: 'incident.resolved', config: { apiKey: KEY, region: 'eu' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    // a test send stands alone: it creates an alert of its own even for a resolving event
    assert.equal(req.url, 'https://api.eu.opsgenie.com/v2/alerts');
    assert.equal(req.headers.authorization, '[redacted]');
    assert.equal(JSON.parse(req.body).alias, 'hub:delivery:dlv_preview');
    assert.ok(!JSON.stringify(res.body).includes(KEY));
    assert.equal(fake.requests.length, 0, 'nothing went over the wire');
  });

  it('asks for the key again when the region moves, and never lets it reach storage, logs or history', async () => {
    const sub = await subscribe('incident.created');
    const moved = await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { region: 'us', apiBaseUrl: fake.url } });
    assert.equal(moved.status, 400, JSON.stringify(moved.body));
    assert.deepEqual(moved.body.errors.map((e: { path: string }) => e.path), ['config.apiKey']);
    fake.script.push({ status: 400, body: { message: `bad key GenieKey ${KEY}` } });
    const d = await settled(await ingest('incident.created', 'evt-og-secret', incident('inc-og-secret')), 'failed');
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify(d) + JSON.stringify((await hub.call('GET', '/subscriptions')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    assert.ok(!dump.includes(KEY), 'database');
    assert.ok(!api.includes(KEY), 'API');
    assert.ok(!hub.logs.join('\n').includes(KEY), 'logs');
    assert.ok(!history.includes(KEY), 'history');
    assert.ok(history.length > 1000 && dump.includes('delivery'), 'the dumps hold something');
  });
});
