import assert from 'node:assert/strict';
import { parseDeliveryInput } from '../../providers/input';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { jiraConfigSchema, jiraProvider, type JiraConfig, type JiraConnection } from '../../providers/jira';
import type { ConnectionContext, DeliveryContext, DeliveryEvent } from '../../providers/types';
import { JiraFake, isAdfDoc, plainText } from '../fakes/jira';
import { Receiver } from '../fakes/receiver';

const http127 = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 256 * 1024, allowedNetworks: ['127.0.0.0/8'] });

const CREATED: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-a'],
  payload: { incidentId: 'inc_1', title: 'Checkout down', severity: 'critical', description: 'All requests fail.' },
  subject: 'inc_1',
  resolves: false,
};
const UPDATED: DeliveryEvent = { ...CREATED, id: 'evt_2', type: 'incident.updated', displayName: 'Incident updated', payload: { ...CREATED.payload, updateMessage: 'Rolled back.' } };
const RESOLVED: DeliveryEvent = { ...CREATED, id: 'evt_3', type: 'incident.resolved', displayName: 'Incident resolved', resolves: true, payload: { ...CREATED.payload, resolutionMessage: 'Fixed.' } };

describe('jira provider against the fake', () => {
  let fake: JiraFake;
  let cloud: JiraConnection;
  let dc: JiraConnection;
  beforeEach(async () => {
    fake = await new JiraFake().start();
    cloud = { flavor: 'cloud', baseUrl: fake.url, email: fake.email, apiToken: fake.apiToken };
    dc = { flavor: 'datacenter', baseUrl: fake.url, personalAccessToken: fake.pat };
  });
  afterEach(() => fake.stop());

  function ctx(event: DeliveryEvent, opts: { config?: Partial<JiraConfig>; connection?: JiraConnection; followUp?: string; attempt?: number } = {}): DeliveryContext<JiraConfig, JiraConnection> {
    return {
      deliveryId: 'dlv_1',
      attempt: opts.attempt ?? 1,
      event,
      subscription: { id: 'sub_1', name: 'Ops' },
      config: jiraConfigSchema.parse({ projectKey: 'OPS', issueTypeId: '10001', ...opts.config }),
      connection: opts.connection ?? cloud,
      followUp: opts.followUp ? { externalId: opts.followUp } : undefined,
      test: false,
      redelivery: false,
      http: http127,
    };
  }

  async function created(connection = cloud): Promise<string> {
    const out = await jiraProvider.deliver(ctx(CREATED, { connection }));
    assert.equal(out.kind, 'success', JSON.stringify(out));
    return (out as { externalId: string }).externalId;
  }

  it('creates a Cloud issue through REST v3 with Basic email:token and an ADF description', async () => {
    const key = await created();
    assert.equal(key, 'OPS-1');
    const [req] = fake.at('POST', /^issue$/);
    assert.equal(req.url, '/rest/api/3/issue');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`${fake.email}:${fake.apiToken}`).toString('base64')}`);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.json.fields.summary, '[CRITICAL] Checkout down');
    assert.ok(isAdfDoc(req.json.fields.description));
  });

  it('creates a Data Center issue through REST v2 with a Bearer token and a wiki description', async () => {
    assert.equal(await created(dc), 'OPS-1');
    const [req] = fake.at('POST', /^issue$/);
    assert.equal(req.url, '/rest/api/2/issue');
    assert.equal(req.headers.authorization, `Bearer ${fake.pat}`);
    assert.equal(typeof req.json.fields.description, 'string');
    assert.ok(req.json.fields.description.startsWith('*Incident created* · Severity: critical'));
  });

  it('comments on the issue for a follow-up and returns the same key', async () => {
    const key = await created();
    const out = await jiraProvider.deliver(ctx(UPDATED, { followUp: key }));
    assert.deepEqual(out, { kind: 'success', httpStatus: 201, externalId: key });
    assert.equal(fake.at('POST', /^issue$/).length, 1, 'no second issue');
    assert.match(plainText(fake.issues.get(key)!.comments[0].body), /^Incident updated · Severity: critical\n\nRolled back\./);
  });

  it('moves the issue into the done category on a resolving event, looking the transition up, then comments', async () => {
    fake.statuses.push({ id: '6', name: 'Closed', category: 'done' });
    fake.transitions = [{ id: '71', name: 'Close it', from: [], to: 'Closed' }];
    const key = await created();
    const out = await jiraProvider.deliver(ctx(RESOLVED, { followUp: key }));
    assert.equal(out.kind, 'success');
    assert.equal(fake.issues.get(key)!.status, 'Closed');
    assert.deepEqual(fake.at('POST', /\/transitions$/)[0].json, { transition: { id: '71' } });
    assert.match(plainText(fake.issues.get(key)!.comments[0].body), /Fixed\.[\s\S]*Moved to Closed\.$/);
    const order = fake.requests.filter((r) => r.apiPath.startsWith('issue/')).map((r) => `${r.method} ${r.apiPath.replace(/\?.*/, '')}`);
    assert.deepEqual(order, [`GET issue/${key}`, `GET issue/${key}/transitions`, `POST issue/${key}/transitions`, `POST issue/${key}/comment`]);
  });

  it('picks the transition to the configured doneStatus among several done ones', async () => {
    fake.statuses.push({ id: '7', name: "Won't do", category: 'done' });
    fake.transitions = [
      { id: '51', name: 'Reject', from: [], to: "Won't do" },
      { id: '31', name: 'Finish', from: [], to: 'Done' },
    ];
    const key = await created();
    await jiraProvider.deliver(ctx(RESOLVED, { followUp: key, config: { doneStatus: 'done' } }));
    assert.equal(fake.issues.get(key)!.status, 'Done');
  });

  it('still comments, saying so, when no transition leads to a done status', async () => {
    fake.transitions = [{ id: '11', name: 'Start progress', from: ['To Do'], to: 'In Progress' }];
    const key = await created();
    const out = await jiraProvider.deliver(ctx(RESOLVED, { followUp: key }));
    assert.equal(out.kind, 'success');
    assert.equal(fake.issues.get(key)!.status, 'To Do');
    assert.match(plainText(fake.issues.get(key)!.comments[0].body), /not moved to a done status: no transition to it is available from "To Do"\.$/);
  });

  it('still comments, with Jira\'s reason, when Jira refuses the move', async () => {
    const key = await created();
    fake.failNext('POST', /\/transitions$/, { status: 400, body: { errorMessages: [], errors: { resolution: 'Resolution is required.' } } });
    const out = await jiraProvider.deliver(ctx(RESOLVED, { followUp: key }));
    assert.equal(out.kind, 'success');
    assert.match(plainText(fake.issues.get(key)!.comments[0].body), /not moved to Done: Jira answered 400 \(resolution: Resolution is required\.\)/);
  });

  it('retries a move that hit a 503 without having commented, and comments once on the retry', async () => {
    const key = await created();
    fake.failNext('POST', /\/transitions$/, { status: 503, headers: { 'retry-after': '1' }, body: 'unavailable' });
    const first = await jiraProvider.deliver(ctx(RESOLVED, { followUp: key }));
    assert.equal(first.kind, 'retryable');
    assert.equal(fake.issues.get(key)!.comments.length, 0);
    const second = await jiraProvider.deliver(ctx(RESOLVED, { followUp: key, attempt: 2 }));
    assert.equal(second.kind, 'success');
    assert.equal(fake.issues.get(key)!.status, 'Done');
    assert.equal(fake.issues.get(key)!.comments.length, 1);
  });

  it('does not move an issue that is already done, and a retry after a failed comment only comments', async () => {
    const key = await created();
    fake.failNext('POST', /\/comment$/, { status: 502, body: 'bad gateway' });
    assert.equal((await jiraProvider.deliver(ctx(RESOLVED, { followUp: key }))).kind, 'retryable');
    assert.equal(fake.issues.get(key)!.status, 'Done');
    assert.equal((await jiraProvider.deliver(ctx(RESOLVED, { followUp: key, attempt: 2 }))).kind, 'success');
    assert.equal(fake.at('POST', /\/transitions$/).length, 1);
    assert.equal(fake.issues.get(key)!.comments.length, 1);
    assert.ok(!plainText(fake.issues.get(key)!.comments[0].body).includes('not moved'));
  });

  it('creates a replacement issue when the tracked one was deleted, naming it', async () => {
    const key = await created();
    fake.deleteIssue(key);
    const out = await jiraProvider.deliver(ctx(UPDATED, { followUp: key }));
    assert.deepEqual(out, { kind: 'success', httpStatus: 201, externalId: 'OPS-2' });
    assert.match(plainText(fake.issues.get('OPS-2')!.fields.description), /replaces OPS-1, which no longer exists/);
    const resolved = await jiraProvider.deliver(ctx(RESOLVED, { followUp: 'OPS-404' }));
    assert.equal(resolved.kind === 'success' && resolved.externalId, 'OPS-3');
    assert.equal(fake.issues.get('OPS-3')!.status, 'Done', 'a replacement for a resolving event is closed');
  });

  it('opens and closes an issue when the first event about a subject resolves it', async () => {
    const out = await jiraProvider.deliver(ctx(RESOLVED));
    assert.equal(out.kind === 'success' && out.externalId, 'OPS-1');
    assert.equal(fake.issues.get('OPS-1')!.status, 'Done');
  });

  it('returns Jira\'s field errors as a permanent failure, and transport failures as retryable', async () => {
    const bad = await jiraProvider.deliver(ctx(CREATED, { config: { priorityId: '99' } }));
    assert.equal(bad.kind, 'permanent');
    assert.match(bad.kind === 'permanent' ? bad.error : '', /priority: The priority selected is invalid\./);
    await fake.stop();
    const down = await jiraProvider.deliver(ctx(CREATED));
    assert.equal(down.kind, 'retryable');
    fake = await new JiraFake().start(); // for afterEach
  });

  it('fails cleanly without a connection or with an invalid stored config', async () => {
    const none = await jiraProvider.deliver({ ...ctx(CREATED), connection: undefined });
    assert.equal(none.kind === 'permanent' && none.errorCode, 'connection_missing');
    // the attempt activity parses the stored config once, before the provider is called
    const broken = parseDeliveryInput(jiraProvider, { projectKey: 'OPS' }, ctx(CREATED).connection);
    assert.ok(!broken.ok);
    assert.match(broken.outcome.kind === 'permanent' ? broken.outcome.error : '', /Jira config is invalid at config.issueTypeId/);
  });

  describe('connection test and options', () => {
    const cc = (connection: JiraConnection, query: Record<string, string> = {}): ConnectionContext<JiraConnection> => ({ connection, http: http127, query });

    it('says who it is connected as, or why not', async () => {
      assert.deepEqual(await jiraProvider.testConnection!(cc(cloud)), { ok: true, message: 'Connected as Ada Lovelace' });
      assert.equal(fake.requests[0].url, '/rest/api/3/myself');
      assert.deepEqual(await jiraProvider.testConnection!(cc(dc)), { ok: true, message: 'Connected as Ada Lovelace' });
      assert.equal(fake.requests[1].url, '/rest/api/2/myself');
      const wrong = await jiraProvider.testConnection!(cc({ flavor: 'datacenter', baseUrl: fake.url, personalAccessToken: 'wrong-token' }));
      assert.equal(wrong.ok, false);
      assert.match(wrong.message, /^Jira rejected the credentials/);
    });

    it('says a URL that answers 200 with JSON that names no Jira user is not a Jira API', async () => {
      const other = await new Receiver().start(); // answers {"ok":true} to everything
      try {
        for (const conn of [{ ...cloud, baseUrl: other.url }, { ...dc, baseUrl: other.url }]) {
          const r = await jiraProvider.testConnection!(cc(conn));
          assert.equal(r.ok, false, r.message);
          assert.match(r.message, /not as a Jira API/);
        }
        assert.equal(other.received.length, 2);
      } finally {
        await other.stop();
      }
    });

    it('lists projects across pages on Cloud and from /project on Data Center', async () => {
      fake.pageSize = 2;
      const expected = [
        { value: 'OPS', label: 'Operations (OPS)' },
        { value: 'SUP', label: 'Support (SUP)' },
        { value: 'INF', label: 'Infrastructure (INF)' },
      ];
      assert.deepEqual(await jiraProvider.options!.projects(cc(cloud)), expected);
      assert.equal(fake.at('GET', /^project\/search$/).length, 2);
      assert.deepEqual(await jiraProvider.options!.projects(cc(dc)), expected);
      assert.equal(fake.at('GET', /^project$/)[0].version, '2');
    });

    it('lists issue types without sub-tasks, priorities, and only custom fields', async () => {
      assert.deepEqual(await jiraProvider.options!.issueTypes(cc(cloud, { projectKey: 'OPS' })), [
        { value: '10001', label: 'Task' },
        { value: '10002', label: 'Bug' },
      ]);
      await assert.rejects(jiraProvider.options!.issueTypes(cc(cloud)), /projectKey/);
      assert.equal((await jiraProvider.options!.priorities(cc(cloud)))[0].label, 'Highest');
      const fields = await jiraProvider.options!.fields(cc(cloud));
      assert.deepEqual(fields.map((f) => f.value), ['customfield_10030', 'customfield_10020', 'customfield_10010']);
      await assert.rejects(jiraProvider.options!.issueTypes(cc(cloud, { projectKey: 'NOPE' })), /404 reading project NOPE: No project could be found/);
    });
  });
});
