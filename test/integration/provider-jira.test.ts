import assert from 'node:assert/strict';
import { jiraProvider } from '../../providers/jira';
import { JiraFake, isAdfDoc, plainText } from '../fakes/jira';
import type { Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

describe('jira provider through the pipeline (real Temporal, PostgreSQL and a fake Jira)', function () {
  this.timeout(120_000);
  const suite = pipelineSuite({ database: 'provider_jira', fake: () => new JiraFake().start(), providers: [jiraProvider] });
  let hub: Hub;
  let fake: JiraFake;
  let cloudId: string;
  let dcId: string;

  before(async () => {
    ({ hub, fake } = suite);
    cloudId = (await connection('cloud')).id;
    dcId = (await connection('datacenter')).id;
  });

  async function connection(flavor: 'cloud' | 'datacenter') {
    const config =
      flavor === 'cloud'
        ? { flavor, baseUrl: `${fake.url}/`, email: fake.email, apiToken: fake.apiToken }
        : { flavor, baseUrl: fake.url, personalAccessToken: fake.pat };
    const res = await hub.call('POST', '/connections', { provider: 'jira', name: `Jira ${flavor}`, config });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; config: Record<string, unknown> };
  }

  const subscribe = (event: string, config: Record<string, unknown> = {}, connectionId = cloudId) => suite.subscribe({
    name: `jira ${event}`,
    provider: 'jira',
    connectionId,
    event,
    config: { projectKey: 'OPS', issueTypeId: '10001', ...config },
    retryPolicy: { scheduleMs: [200, 200, 200] },
  });

  let emissions = 0;
  const ingest = (event: string, incidentId: string, payload: Record<string, unknown> = {}) =>
    suite.ingest(event, `${event}:${incidentId}:${++emissions}`, { incidentId, title: `Outage ${incidentId}`, severity: 'major', systemIds: ['sys-a'], ...payload });
  const settled = (deliveryId: string, status = 'success') => suite.settled(deliveryId, status);

  const issueOf = (incidentId: string) => [...fake.issues.values()].filter((i) => i.fields.summary.includes(`Outage ${incidentId}`));

  it('keeps the connection token write-only, tests the connection and resolves its options', async () => {
    const shown = await hub.call('GET', `/connections/${cloudId}`);
    assert.deepEqual(shown.body.config.apiToken, { set: true });
    assert.equal(shown.body.config.baseUrl, fake.url, 'trailing slash trimmed');
    assert.deepEqual((await hub.call('POST', `/connections/${cloudId}/test`)).body, { ok: true, message: 'Connected as Ada Lovelace' });
    assert.deepEqual((await hub.call('POST', `/connections/${dcId}/test`)).body, { ok: true, message: 'Connected as Ada Lovelace' });
    const projects = await hub.call('GET', `/connections/${cloudId}/options/projects`);
    assert.deepEqual(projects.body.map((p: { value: string }) => p.value), ['OPS', 'SUP', 'INF']);
    const types = await hub.call('GET', `/connections/${cloudId}/options/issueTypes?projectKey=OPS`);
    assert.deepEqual(types.body, [{ value: '10001', label: 'Task' }, { value: '10002', label: 'Bug' }]);
    // a missing query parameter is the caller's mistake (400 naming it), not Jira's (502)
    const noProject = await hub.call('GET', `/connections/${cloudId}/options/issueTypes`);
    assert.equal(noProject.status, 400, JSON.stringify(noProject.body));
    assert.deepEqual(noProject.body.errors.map((e: { path: string }) => e.path), ['query.projectKey']);
    const priorities = await hub.call('GET', `/connections/${dcId}/options/priorities`);
    assert.equal(priorities.body.length, 4);
    const fields = await hub.call('GET', `/connections/${cloudId}/options/fields`);
    assert.ok(fields.body.every((f: { value: string }) => f.value.startsWith('customfield_')));
  });

  it('refuses at save time a template reading a payload field the event never has', async () => {
    const res = await hub.call('POST', '/subscriptions', {
      name: 'typo', provider: 'jira', connectionId: cloudId, event: 'incident.created',
      config: { projectKey: 'OPS', issueTypeId: '10001', summaryTemplate: '{{payload.severity.level}}' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].path, 'config.summaryTemplate');
    const missing = await hub.call('POST', '/subscriptions', { name: 'x', provider: 'jira', event: 'incident.created', config: { projectKey: 'OPS', issueTypeId: '10001' } });
    assert.equal(missing.status, 400, 'a connection is required');
  });

  it('opens a Cloud issue for incident.created: v3, Basic auth, ADF, fields, and records the issue key', async () => {
    await subscribe('incident.created', {
      priorityId: '2',
      labels: ['incident'],
      fieldMappings: [{ fieldKey: 'customfield_10010', template: '{{payload.incidentId}}' }],
    });
    const id = await ingest('incident.created', 'inc-open', { url: 'https://status.example.com/i/inc-open', description: 'It broke.' });
    const d = await settled(id);
    const [issue] = issueOf('inc-open');
    assert.equal(d.externalId, issue.key);
    const req = fake.requests.find((r) => r.method === 'POST' && r.apiPath === 'issue' && r.json.fields.summary.includes('inc-open'))!;
    assert.equal(req.url, '/rest/api/3/issue');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`${fake.email}:${fake.apiToken}`).toString('base64')}`);
    const { description, ...fields } = req.json.fields;
    assert.deepEqual(fields, {
      customfield_10010: 'inc-open',
      project: { key: 'OPS' },
      issuetype: { id: '10001' },
      summary: '[MAJOR] Outage inc-open',
      priority: { id: '2' },
      labels: ['incident'],
    });
    assert.ok(isAdfDoc(description));
    assert.match(plainText(description), /^Incident created · Severity: major\n\nSystems: sys-a\n\nIt broke\.\n\nOpen in the status platform\n\nSent by Integrations Hub/);
  });

  it('comments for incident.updated and closes on incident.resolved, from other subscriptions on the same project', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    await subscribe('incident.resolved', { issueTypeName: 'Bug', issueTypeId: undefined });
    const created = await settled(await ingest('incident.created', 'inc-life'));
    const updated = await settled(await ingest('incident.updated', 'inc-life', { status: 'identified', updateMessage: 'Rolled back.' }));
    const resolved = await settled(await ingest('incident.resolved', 'inc-life', { status: 'resolved', resolutionMessage: 'Fixed for good.' }));
    const issues = issueOf('inc-life');
    assert.equal(issues.length, 1, 'one issue for the incident');
    const issue = issues[0];
    assert.equal(updated.externalId, created.externalId);
    assert.equal(resolved.externalId, created.externalId);
    assert.equal(issue.status, 'Done');
    assert.deepEqual(
      issue.comments.map((c) => plainText(c.body).split('\n\n')[1]),
      ['Rolled back.', 'Fixed for good.'],
    );
    assert.match(plainText(issue.comments[1].body), /Moved to Done\.$/);
    const moves = fake.at('POST', new RegExp(`^issue/${issue.key}/transitions$`));
    assert.deepEqual(moves.map((m) => m.json), [{ transition: { id: '31' } }]);
  });

  it('talks REST v2 with a Bearer token and wiki markup to Data Center', async () => {
    await subscribe('incident.created', {}, dcId);
    await subscribe('incident.updated', {}, dcId);
    const created = await settled(await ingest('incident.created', 'inc-dc', { description: 'Price *drop* [x]' }));
    await settled(await ingest('incident.updated', 'inc-dc', { updateMessage: 'Still {broken}' }));
    const [issue] = issueOf('inc-dc');
    assert.equal(created.externalId, issue.key);
    const req = fake.at('POST', /^issue$/).find((r) => r.json.fields.summary.includes('inc-dc'))!;
    assert.equal(req.url, '/rest/api/2/issue');
    assert.equal(req.headers.authorization, `Bearer ${fake.pat}`);
    assert.match(req.json.fields.description, /^\*Incident created\* · Severity: major\n\n\*Systems:\* sys\\-a\n\nPrice \\\*drop\\\* \\\[x\\\]/);
    assert.match(issue.comments[0].body, /Still \\\{broken\\\}/);
  });

  it('does not retry a 429 before its Retry-After', async () => {
    await subscribe('incident.created');
    fake.failNext('POST', /^issue$/, { status: 429, headers: { 'retry-after': '2', 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0', 'ratelimit-reason': 'jira-burst-based' }, body: '' });
    const d = await settled(await ingest('incident.created', 'inc-429'));
    const attempts = fake.at('POST', /^issue$/).filter((r) => r.json.fields.summary.includes('inc-429'));
    assert.equal(attempts.length, 2);
    assert.ok(attempts[1].at - attempts[0].at >= 2000, `second attempt after ${attempts[1].at - attempts[0].at} ms`);
    assert.equal(d.attemptLog[0].outcome, 'retryable');
    assert.equal(d.attemptLog[0].httpStatus, 429);
    assert.equal(issueOf('inc-429').length, 1);
  });

  it('pauses the subscription when Jira rejects the credentials (401)', async () => {
    const sub = await subscribe('incident.created');
    const token = fake.apiToken;
    fake.apiToken = 'rotated-elsewhere-0000';
    try {
      const d = await settled(await ingest('incident.created', 'inc-401'), 'failed');
      assert.equal(d.attempts, 1);
      assert.match(d.error, /^Jira answered 401 creating an issue in OPS/);
    } finally {
      fake.apiToken = token;
    }
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.match(s.body.pausedReason, /^Jira rejected the credentials of the connection \(HTTP 401\): check the email and API token/);
  });

  it('pauses the subscription when its project no longer exists', async () => {
    const sub = await subscribe('incident.created', { projectKey: 'GONE' });
    await settled(await ingest('incident.created', 'inc-gone'), 'failed');
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.match(s.body.pausedReason, /^Jira project GONE does not exist or the account cannot see it/);
  });

  it('fails without pausing on a field error (400) or a missing permission (403), saying which', async () => {
    const sub = await subscribe('incident.created', { priorityId: '99' });
    const bad = await settled(await ingest('incident.created', 'inc-400'), 'failed');
    assert.equal(bad.error, 'Jira answered 400 creating an issue in OPS: priority: The priority selected is invalid.');
    assert.equal(bad.attempts, 1);
    fake.failNext('POST', /^issue$/, { status: 403, body: { errorMessages: ['You do not have permission to create issues in this project.'], errors: {} } });
    await hub.call('PATCH', `/subscriptions/${sub.id}`, { config: { projectKey: 'OPS', issueTypeId: '10001' } });
    const forbidden = await settled(await ingest('incident.created', 'inc-403'), 'failed');
    assert.match(forbidden.error, /403 creating an issue in OPS: You do not have permission/);
    const s = await hub.call('GET', `/subscriptions/${sub.id}`);
    assert.equal(s.body.pausedReason, null);
  });

  it('opens a replacement issue when the tracked one was deleted, and later follow-ups use it', async () => {
    await subscribe('incident.created');
    await subscribe('incident.updated');
    const first = await settled(await ingest('incident.created', 'inc-del'));
    fake.deleteIssue(first.externalId);
    const replaced = await settled(await ingest('incident.updated', 'inc-del', { updateMessage: 'one' }));
    assert.notEqual(replaced.externalId, first.externalId);
    assert.match(plainText(fake.issues.get(replaced.externalId)!.fields.description), new RegExp(`replaces ${first.externalId}`));
    const later = await settled(await ingest('incident.updated', 'inc-del', { updateMessage: 'two' }));
    assert.equal(later.externalId, replaced.externalId);
    assert.equal(fake.issues.get(replaced.externalId)!.comments.length, 1);
  });

  it('never lets the Jira credentials reach the database in plaintext, responses, logs or Temporal history', async () => {
    await subscribe('incident.created');
    const basic = Buffer.from(`${fake.email}:${fake.apiToken}`).toString('base64');
    // Jira echoes the credentials back in its error
    fake.failNext('POST', /^issue$/, { status: 400, body: { errorMessages: [`bad header Basic ${basic} for token ${fake.apiToken}`], errors: {} } });
    const d = await settled(await ingest('incident.created', 'inc-secret'), 'failed');
    assert.match(d.error, /^Jira answered 400/);
    const secrets = [fake.apiToken, fake.pat, basic];
    const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
      JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
    const api = JSON.stringify((await hub.call('GET', '/connections')).body) + JSON.stringify((await hub.call('GET', '/deliveries?limit=500')).body) +
      JSON.stringify(d) + JSON.stringify((await hub.call('POST', `/connections/${cloudId}/test`)).body);
    const closed = await closedHistory((await getStack()).client, d.workflowId);
    assertHoldsAttempts(closed, d);
    const hist = historyText(closed);
    const logs = hub.logs.join('\n');
    for (const s of secrets) {
      assert.ok(!dump.includes(s), 'database');
      assert.ok(!api.includes(s), 'API');
      assert.ok(!logs.includes(s), 'logs');
      assert.ok(!hist.includes(s) && !hist.includes(Buffer.from(s).toString('base64')), 'history');
    }
    assert.ok(hist.length > 1000, 'history was fetched');
  });
});
