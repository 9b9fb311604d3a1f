import assert from 'node:assert/strict';
import { teamsProvider } from '../../providers/teams';
import { clearTokenCache } from '../../providers/teams/token';
import { TeamsFake, teamsErrors } from '../fakes/teams';
import { waitFor, type Hub } from '../support/hub';
import { pipelineSuite } from '../support/provider-suite';
import { getStack } from '../support/stack';
import { assertHoldsAttempts, closedHistory, historyText } from '../support/history';

describe('Teams provider through the pipeline (fake Workflows, identity platform and Graph)', function () {
  this.timeout(120_000);
  // the fake is reset before each test (its requests and scripted answers)
  const suite = pipelineSuite({
    database: 'provider_teams',
    fake: () => {
      clearTokenCache();
      return new TeamsFake().start();
    },
    providers: [teamsProvider],
  });
  let hub: Hub;
  let fake: TeamsFake;
  let team: { id: string; channels: string[] };
  let connectionId: string;

  before(async () => {
    ({ hub, fake } = suite);
    team = fake.addTeam('Operations', ['General', 'Incidents']);
    fake.addTeam('Finance', ['General']);
    const conn = await hub.call('POST', '/connections', { provider: 'teams', name: 'Contoso app', config: fake.connection() });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    connectionId = conn.body.id;
  });

  const subscribe = (config: Record<string, unknown>, event = 'incident.created', extra: Record<string, unknown> = {}) => suite.subscribe({
    name: `teams ${event}`,
    provider: 'teams',
    event,
    config,
    retryPolicy: { scheduleMs: [200, 200, 200] },
    ...(config.mode === 'graph' ? { connectionId } : {}),
    ...extra,
  });

  const graphConfig = (channel = team.channels[1]) => ({ mode: 'graph', teamId: team.id, channelId: channel });

  const ingest = (event: string, incidentId: string, extra: Record<string, unknown> = {}) => suite.ingest(event, undefined, {
    incidentId, title: `Checkout down ${incidentId}`, severity: 'critical', systemIds: ['sys-a'], url: 'https://status.example.com/i/1', ...extra,
  });
  const delivered = (deliveryId: string, status = 'success') => suite.settled(deliveryId, status);

  async function pausedReason(subscriptionId: string): Promise<string> {
    return waitFor(async () => (await hub.call('GET', `/subscriptions/${subscriptionId}`)).body.pausedReason, 'the subscription to be paused');
  }

  describe('connection', () => {
    it('masks the client secret, passes its test and lists teams and channels', async () => {
      clearTokenCache(); // so this test sees the token request
      const conn = await hub.call('GET', `/connections/${connectionId}`);
      assert.deepEqual(conn.body.config.clientSecret, { set: true });
      assert.equal(conn.body.config.graphBaseUrl, `${fake.url}/v1.0`);
      assert.deepEqual((await hub.call('POST', `/connections/${connectionId}/test`)).body, { ok: true, message: 'Found 2 team(s)' });
      const teams = await hub.call('GET', `/connections/${connectionId}/options/teams`);
      assert.deepEqual(teams.body.map((t: { label: string }) => t.label), ['Finance', 'Operations']);
      const channels = await hub.call('GET', `/connections/${connectionId}/options/channels?teamId=${encodeURIComponent(team.id)}`);
      assert.deepEqual(channels.body, [
        { value: team.channels[0], label: 'General' },
        { value: team.channels[1], label: 'Incidents' },
      ]);
      const token = fake.at('token')[0];
      assert.equal(new URLSearchParams(token.body).get('client_secret'), fake.clientSecret);
    });

    it('reports a wrong client secret readably, without the secret', async () => {
      const wrongSecret = 'definitely~not~the~secret~42';
      const created = await hub.call('POST', '/connections', { provider: 'teams', name: 'wrong', config: fake.connection({ clientSecret: wrongSecret }) });
      const test = await hub.call('POST', `/connections/${created.body.id}/test`);
      assert.equal(test.body.ok, false);
      assert.match(test.body.message, /invalid_client: the client secret is wrong/);
      assert.ok(!JSON.stringify(test.body).includes(wrongSecret));
      await hub.call('DELETE', `/connections/${created.body.id}`);
    });
  });

  describe('Workflows webhook mode', () => {
    it('refuses an Office 365 connector URL at save time, pointing to Workflows', async () => {
      const res = await hub.call('POST', '/subscriptions', {
        name: 'old connector',
        provider: 'teams',
        event: 'incident.created',
        config: { mode: 'workflow', webhookUrl: 'https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d' },
      });
      assert.equal(res.status, 400);
      const problem = res.body.errors.find((e: { path: string }) => e.path === 'config.webhookUrl');
      assert.match(problem.message, /retired.*Workflows.*When a Teams webhook request is received/s);
    });

    it('posts the Adaptive Card envelope, records the 202 without an external id, and masks the URL', async () => {
      const flow = fake.addWorkflow();
      const sub = await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      assert.deepEqual((await hub.call('GET', `/subscriptions/${sub.id}`)).body.config.webhookUrl, { set: true });
      const d = await delivered(await ingest('incident.created', 'inc-wf-1', { description: 'Errors on *checkout*' }));
      assert.equal(d.externalId, null);
      assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [['success', 202]]);
      const [req] = fake.at('workflow');
      assert.equal(req.query.get('sig'), flow.sig);
      assert.match(String(req.headers['content-type']), /^application\/json/);
      const body = JSON.parse(req.body);
      assert.equal(body.type, 'message');
      assert.equal(body.attachments.length, 1);
      assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
      const card = body.attachments[0].content;
      assert.equal(card.version, '1.4');
      assert.equal(card.body[0].items[0].text, '🔴 Checkout down inc-wf-1');
      assert.deepEqual(card.body[1].facts.map((f: { title: string }) => f.title), ['Event', 'Systems', 'Severity', 'Time']);
      assert.equal(card.body[2].text, 'Errors on *checkout*');
      assert.equal(card.actions[0].url, 'https://status.example.com/i/1');
    });

    it('escapes payload text so a title or description cannot render as a link (issue 19)', async () => {
      const flow = fake.addWorkflow();
      await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      await delivered(await ingest('incident.created', 'inc-wf-md', { title: '[Reset your password](https://evil.example/x)', description: 'see [here](https://evil.example/d) *now*' }));
      const card = JSON.parse(fake.at('workflow')[0].body).attachments[0].content;
      assert.equal(card.body[0].items[0].text, '🔴 \\[Reset your password\\](https://evil.example/x)');
      assert.equal(card.body[2].text, 'see \\[here\\](https://evil.example/d) *now*');
    });

    it('pauses the subscription when the flow was deleted (404)', async () => {
      const flow = fake.addWorkflow();
      const sub = await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      fake.workflows.delete(flow.id);
      const d = await delivered(await ingest('incident.created', 'inc-wf-404'), 'failed');
      assert.equal(d.attempts, 1);
      assert.match(await pausedReason(sub.id), /workflow behind this webhook URL is gone/);
    });

    it('pauses the subscription when the flow is turned off', async () => {
      const flow = fake.addWorkflow();
      const sub = await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      fake.workflows.get(flow.id)!.enabled = false;
      const d = await delivered(await ingest('incident.created', 'inc-wf-off'), 'failed');
      assert.equal(d.attemptLog[0].errorCode, 'WorkflowTriggerIsNotEnabled');
      assert.match(await pausedReason(sub.id), /turned off/);
    });

    it('does not retry a throttled flow before its Retry-After', async () => {
      const flow = fake.addWorkflow();
      await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      fake.fail('workflow', teamsErrors.flowRateLimited(2));
      const d = await delivered(await ingest('incident.created', 'inc-wf-429'));
      const [first, second] = fake.at('workflow');
      assert.ok(second.at - first.at >= 2000, `second attempt came after ${second.at - first.at} ms`);
      assert.deepEqual(d.attemptLog.map((a: { httpStatus: number }) => a.httpStatus), [429, 202]);
    });
  });

  describe('Graph mode', () => {
    it('posts to the channel, replies in the thread on an update and closes it with a Resolved card', async () => {
      await subscribe(graphConfig(), 'incident.created');
      await subscribe(graphConfig(), 'incident.updated');
      await subscribe(graphConfig(), 'incident.resolved');
      const created = await delivered(await ingest('incident.created', 'inc-graph-1', { description: 'Error rate above 20%' }));
      const [root] = fake.messages(team.id, team.channels[1]).filter((m) => m.card.body[0].items[0].text.includes('inc-graph-1'));
      assert.equal(created.externalId, `${team.id}:${team.channels[1]}:${root.id}`);
      const [post] = fake.at('message');
      const bearer = /^Bearer (.+)$/.exec(String(post.headers.authorization))?.[1];
      assert.ok(bearer && fake.issuedTokens.includes(bearer), 'a token issued by the token endpoint');
      const body = JSON.parse(post.body);
      assert.match(body.body.content, /^<attachment id="[0-9a-f]{32}"><\/attachment>$/);
      assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
      assert.equal(root.card.body[0].items[0].text, '🔴 Checkout down inc-graph-1');
      assert.equal(root.card.body[2].text, 'Error rate above 20%');

      const updated = await delivered(await ingest('incident.updated', 'inc-graph-1', { status: 'identified', updateMessage: 'Rolling back' }));
      assert.equal(updated.externalId, created.externalId);
      const resolved = await delivered(await ingest('incident.resolved', 'inc-graph-1', { status: 'resolved', resolutionMessage: 'Rolled back' }));
      assert.equal(resolved.externalId, created.externalId);

      assert.equal(fake.at('message').length, 1, 'one thread, no second post');
      assert.deepEqual(
        root.replies.map((r) => [r.card.body[0].items[0].text, r.card.body[2].text]),
        [
          ['🔴 Incident updated', 'Rolling back'],
          ['✅ Resolved: Checkout down inc-graph-1', 'Rolled back'],
        ],
      );
      assert.ok(fake.at('reply').every((r) => r.path.endsWith(`/messages/${root.id}/replies`)));
    });

    it('does not retry a throttled Graph post before its Retry-After', async () => {
      await subscribe(graphConfig());
      fake.fail('message', teamsErrors.graphRateLimited(2));
      const d = await delivered(await ingest('incident.created', 'inc-graph-429'));
      const [first, second] = fake.at('message');
      assert.ok(second.at - first.at >= 2000, `second attempt came after ${second.at - first.at} ms`);
      assert.deepEqual(d.attemptLog.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]), [['retryable', 429], ['success', 201]]);
    });

    it('pauses the subscription when the channel no longer exists (404)', async () => {
      const sub = await subscribe(graphConfig('19:deleted0channel@thread.tacv2'));
      const d = await delivered(await ingest('incident.created', 'inc-graph-404'), 'failed');
      assert.equal(d.attempts, 1);
      assert.match(d.error, /404/);
      assert.match(await pausedReason(sub.id), /team or channel no longer exists/);
    });

    it('fails a 403 once with a readable reason, without pausing', async () => {
      const sub = await subscribe(graphConfig());
      fake.fail('message', teamsErrors.forbidden());
      const d = await delivered(await ingest('incident.created', 'inc-graph-403'), 'failed');
      assert.equal(d.attempts, 1);
      assert.match(d.error, /the app lacks a permission/);
      assert.equal((await hub.call('GET', `/subscriptions/${sub.id}`)).body.pausedReason, null);
    });
  });

  describe('secrets', () => {
    it('keeps the client secret, tokens and the signed webhook URL out of the database, API, logs and history', async () => {
      const flow = fake.addWorkflow();
      const wfSub = await subscribe({ mode: 'workflow', webhookUrl: flow.url });
      // the flow echoes the URL and signature back in its error
      fake.fail('workflow', { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'BadRequest', message: `bad call to ${flow.url} (sig ${flow.sig})` } }) });
      const wf = await delivered(await ingest('incident.created', 'inc-secret-1'), 'failed');
      assert.equal((await hub.call('PATCH', `/subscriptions/${wfSub.id}`, { enabled: false })).status, 200);
      await subscribe(graphConfig());
      const graph = await delivered(await ingest('incident.created', 'inc-secret-2'));

      const secrets = [fake.clientSecret, flow.url, flow.sig, ...fake.issuedTokens];
      const dump = JSON.stringify(await hub.dataSource.query('SELECT * FROM subscriptions')) +
        JSON.stringify(await hub.dataSource.query('SELECT * FROM connections')) +
        JSON.stringify(await hub.dataSource.query('SELECT * FROM deliveries')) +
        JSON.stringify(await hub.dataSource.query('SELECT * FROM delivery_attempts')) +
        JSON.stringify(await hub.dataSource.query('SELECT * FROM external_records'));
      const api = JSON.stringify((await hub.call('GET', '/subscriptions')).body) + JSON.stringify((await hub.call('GET', '/connections')).body) +
        JSON.stringify(wf) + JSON.stringify(graph) + JSON.stringify((await hub.call('GET', '/deliveries')).body);
      const client = (await getStack()).client;
      const histories = [await closedHistory(client, wf.workflowId), await closedHistory(client, graph.workflowId)];
      assertHoldsAttempts(histories[0], wf);
      assertHoldsAttempts(histories[1], graph);
      const history = historyText(histories);
      const logs = hub.logs.join('\n');
      assert.ok(fake.issuedTokens.length > 0 && logs.length > 0 && history.length > 1000);
      assert.match(wf.error, /400/);
      for (const s of secrets) {
        assert.ok(!dump.includes(s), `database holds ${s.slice(0, 6)}…`);
        assert.ok(!api.includes(s), `API returns ${s.slice(0, 6)}…`);
        assert.ok(!logs.includes(s), `logs hold ${s.slice(0, 6)}…`);
        assert.ok(!history.includes(s) && !history.includes(Buffer.from(s).toString('base64')), `history holds ${s.slice(0, 6)}…`);
      }
    });

    it('keeps a client secret that the token endpoint echoes in its OAuth error code out of error_code, the API, logs and history', async () => {
      clearTokenCache();
      await subscribe(graphConfig());
      const echo = `invalid_client: client_secret=${fake.clientSecret} is not valid for this app ${'x'.repeat(150)}`;
      fake.fail('token', { status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: echo, error_description: `AADSTS7000215: Invalid client secret ${fake.clientSecret}` }) });
      const d = await delivered(await ingest('incident.created', 'inc-oauth-echo'), 'failed');
      const code: string = d.attemptLog[0].errorCode;
      assert.match(code, /^invalid_client: client_secret=\*\*\*/);
      assert.ok(code.length <= 100, `error code of ${code.length} characters`);
      const rows = JSON.stringify(await hub.dataSource.query('SELECT error_code, error FROM delivery_attempts WHERE delivery_id = $1', [d.id]));
      const closed = await closedHistory((await getStack()).client, d.workflowId);
      assertHoldsAttempts(closed, d);
      const history = historyText(closed);
      const api = JSON.stringify((await hub.call('GET', `/deliveries/${d.id}`)).body);
      for (const [where, text] of [['database', rows], ['API', api], ['history', history], ['logs', hub.logs.join('\n')]]) {
        assert.ok(!text.includes(fake.clientSecret), `${where} holds the client secret`);
      }
    });
  });
});
