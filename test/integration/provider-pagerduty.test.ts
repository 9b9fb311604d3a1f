import assert from 'node:assert/strict';
import { FakePagerduty } from '../fakes/pagerduty';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

const KEY = 'R0UT1NGKEYa1b2c3d4e5f6g7h8i9j0kL';
const DELETED_KEY = 'DELETEDKEYa1b2c3d4e5f6g7h8i9j0kL';

describe('pagerduty provider through the pipeline (real Temporal, PostgreSQL, fake Events API v2)', function () {
  this.timeout(120_000);
  const suite = pipelineSuite({ database: 'provider_pagerduty', fake: () => new FakePagerduty(KEY).start() });
  let hub: Hub;
  let fake: FakePagerduty;
  before(() => {
    ({ hub, fake } = suite);
  });

  const subscribe = (event: string, config: Record<string, unknown> = {}) => suite.subscribe({
    name: `pagerduty ${event}`,
    provider: 'pagerduty',
    event,
    config: { routingKey: KEY, apiBaseUrl: fake.url, ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });
  const ingest = (event: string, id: string, payload: Record<string, unknown>) => suite.ingest(event, id, { systemIds: ['sys-db'], ...payload });
  const settled = (id: string, status = 'success') => suite.settled(id, status);

  const incident = (incidentId: string, extra: Record<string, unknown> = {}) => ({
    incidentId, title: `DB down ${incidentId}`, severity: 'major', status: 'investigating', url: `https://status.example.com/i/${incidentId}`, ...extra,
  });

  it('refuses a routing key PagerDuty would refuse, and masks a good one', async () => {
    const bad = await hub.call('POST', '/subscriptions', {
      name: 'x', provider: 'pagerduty', event: 'incident.created', config: { routingKey: 'short' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { path: string }) => e.path), ['config.routingKey']);
    const sub = await subscribe('incident.created');
    assert.deepEqual(sub.config.routingKey, { set: true });
  });

  it('triggers with a dedup_key per incident, acknowledges the update and resolves on incident.resolved', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated', { followUpAction: 'acknowledge' });
    await subscribe('incident.resolved');
    const created = await settled(await ingest('incident.created', 'evt-pd-1', incident('inc-pd')));
    assert.equal(created.externalId, 'hub:incident:inc-pd');
    const [trigger] = fake.requests;
    assert.equal(trigger.headers['content-type'], 'application/json');
    assert.deepEqual(
      { ...trigger.json, payload: { ...trigger.json.payload, timestamp: undefined, custom_details: undefined } },
      {
        routing_key: KEY,
        event_action: 'trigger',
        dedup_key: 'hub:incident:inc-pd',
        payload: { summary: '[MAJOR] DB down inc-pd (investigating)', source: 'sys-db', severity: 'error', timestamp: undefined, class: 'incident.created', custom_details: undefined },
        client: 'Integrations Hub',
        client_url: 'https://status.example.com/i/inc-pd',
        links: [{ href: 'https://status.example.com/i/inc-pd', text: 'Open in the status page' }],
      },
    );
    assert.equal(trigger.json.payload.custom_details.payload.incidentId, 'inc-pd');
    assert.equal(fake.alert(KEY, 'hub:incident:inc-pd')?.status, 'triggered');

    const updated = await settled(await ingest('incident.updated', 'evt-pd-2', incident('inc-pd', { status: 'identified' })));
    assert.equal(updated.externalId, 'hub:incident:inc-pd');
    assert.deepEqual(fake.requests[1].json, { routing_key: KEY, event_action: 'acknowledge', dedup_key: 'hub:incident:inc-pd' });
    assert.equal(fake.alert(KEY, 'hub:incident:inc-pd')?.status, 'acknowledged');

    const resolved = await settled(await ingest('incident.resolved', 'evt-pd-3', incident('inc-pd', { status: 'resolved' })));
    assert.equal(resolved.externalId, 'hub:incident:inc-pd');
    assert.deepEqual(fake.requests[2].json, { routing_key: KEY, event_action: 'resolve', dedup_key: 'hub:incident:inc-pd' });
    assert.deepEqual(fake.alert(KEY, 'hub:incident:inc-pd')?.actions, ['trigger', 'acknowledge', 'resolve']);
    assert.equal(fake.alert(KEY, 'hub:incident:inc-pd')?.status, 'resolved');
  });

  it('updates the open alert by triggering again with the same dedup_key (default followUpAction)', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    await settled(await ingest('incident.created', 'evt-pd-u1', incident('inc-pd-u')));
    await settled(await ingest('incident.updated', 'evt-pd-u2', incident('inc-pd-u', { severity: 'critical', status: 'identified' })));
    const alert = fake.alert(KEY, 'hub:incident:inc-pd-u')!;
    assert.deepEqual(alert.actions, ['trigger', 'trigger']);
    assert.equal(alert.severity, 'critical');
    assert.equal(alert.summary, '[CRITICAL] DB down inc-pd-u (identified)');
    assert.equal([...fake.alerts.values()].filter((a) => a.dedupKey === 'hub:incident:inc-pd-u').length, 1, 'one alert');
  });

  it('retries a 429 and a 503, then succeeds', async () => {
    await subscribe('incident.created');
    fake.script.push({ status: 429, body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' } });
    fake.script.push({ status: 503, body: { status: 'unavailable', message: 'Service Unavailable' } });
    const d = await settled(await ingest('incident.created', 'evt-pd-429', incident('inc-pd-429')));
    assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [
      ['retryable', 429],
      ['retryable', 503],
      ['success', 202],
    ]);
    assert.match(d.attemptLog[0].error, /HTTP 429 from PagerDuty: Requests for this service are arriving too quickly/);
    assert.equal(fake.alert(KEY, 'hub:incident:inc-pd-429')?.status, 'triggered');
  });

  it('fails a 400 invalid event at once, and pauses when the integration key is refused', async () => {
    const sub = await subscribe('incident.created');
    fake.script.push({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.summary' is missing or blank"] } });
    const invalid = await settled(await ingest('incident.created', 'evt-pd-400', incident('inc-pd-400')), 'failed');
    assert.equal(invalid.attempts, 1);
    assert.match(invalid.error, /^HTTP 400 from PagerDuty: Event object is invalid; 'payload.summary' is missing or blank/);
    assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);

    const deleted = await subscribe('incident.created', { routingKey: DELETED_KEY });
    await hub.call('DELETE', `/subscriptions/${sub.id}`);
    const refused = await settled(await ingest('incident.created', 'evt-pd-key', incident('inc-pd-key')), 'failed');
    assert.equal(refused.attempts, 1);
    assert.match((await hub.call('GET', `/subscriptions/${deleted.id}`)).body.pausedReason ?? '', /PagerDuty refused the integration \(routing\) key/);
  });

  it('previews the trigger it would send with the routing key replaced, sending nothing', async () => {
    const res = await hub.call('POST', '/subscriptions/preview', {
      name: 'preview', provider: 'pagerduty', event: 'incident.created', config: { routingKey: KEY, apiBaseUrl: fake.url },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [req] = res.body.requests;
    assert.equal(req.url, `${fake.url}/v2/enqueue`);
    const body = JSON.parse(req.body);
    assert.equal(body.event_action, 'trigger');
    assert.notEqual(body.routing_key, KEY);
    assert.ok(!JSON.stringify(res.body).includes(KEY));
    assert.equal(fake.requests.length, 0, 'nothing went over the wire');
  });

  it('never lets the routing key reach the database, API responses, logs or the workflow history', async () => {
    await subscribe('incident.created');
    fake.script.push({ status: 400, body: { status: 'invalid event', message: `routing_key ${KEY} is not allowed`, errors: [] } });
    const d = await settled(await ingest('incident.created', 'evt-pd-secret', incident('inc-pd-secret')), 'failed');
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify(d) + JSON.stringify((await hub.call('GET', '/deliveries?provider=pagerduty')).body) + JSON.stringify((await hub.call('GET', '/subscriptions')).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const history = historyText(closed);
    assert.ok(fake.requests.some((r) => r.json?.routing_key === KEY), 'the key was sent');
    assert.ok(!dump.includes(KEY), 'database');
    assert.ok(!api.includes(KEY), 'API');
    assert.ok(!hub.logs.join('\n').includes(KEY), 'logs');
    assert.ok(!history.includes(KEY), 'history');
    assert.ok(dump.includes('hub:incident:') && history.length > 1000, 'the dumps hold something');
  });
});
