import assert from 'node:assert/strict';
import { parseDeliveryInput } from '../../providers/input';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { teamsProvider, teamsConnectionSchema, type TeamsConfig, type TeamsConnection } from '../../providers/teams';
import { APP_ONLY_REFUSED } from '../../providers/teams/graph';
import { clearTokenCache } from '../../providers/teams/token';
import { retryHintFromBody } from '../../providers/teams/workflows';
import type { DeliveryContext, DeliveryOutcome } from '../../providers/types';
import { TeamsFake, teamsErrors } from '../fakes/teams';

const http = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 64 * 1024, allowedNetworks: ['127.0.0.0/8'] });

describe('Teams provider against the fake Microsoft endpoints', () => {
  let fake: TeamsFake;
  let team: { id: string; channels: string[] };
  let connection: TeamsConnection;

  before(async () => {
    fake = await new TeamsFake().start();
    team = fake.addTeam('Operations', ['General', 'Incidents']);
    fake.addTeam('Finance');
    connection = teamsConnectionSchema.parse(fake.connection());
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    clearTokenCache();
  });

  let seq = 0;
  function ctx(config: TeamsConfig, extra: Partial<DeliveryContext<TeamsConfig, TeamsConnection>> = {}, resolves = false): DeliveryContext<TeamsConfig, TeamsConnection> {
    seq += 1;
    return {
      deliveryId: `dlv_${seq}`,
      attempt: 1,
      event: {
        id: `evt_${seq}`,
        type: resolves ? 'incident.resolved' : 'incident.created',
        displayName: resolves ? 'Incident resolved' : 'Incident created',
        occurredAt: '2025-03-04T14:07:12.000Z',
        systemIds: ['sys-a'],
        payload: { incidentId: 'inc_1', title: 'Checkout down', severity: 'major', description: 'Errors everywhere' },
        subject: 'inc_1',
        resolves,
      },
      subscription: { id: 'sub_1', name: 'Ops' },
      config,
      connection,
      test: false,
      redelivery: false,
      http,
      ...extra,
    };
  }

  const graph = (): TeamsConfig => ({ mode: 'graph', teamId: team.id, channelId: team.channels[1] });
  const deliver = (c: DeliveryContext<TeamsConfig, TeamsConnection>) => teamsProvider.deliver(c);
  const failed = (o: DeliveryOutcome) => (o.kind === 'success' ? assert.fail(`expected a failure, got ${JSON.stringify(o)}`) : o);

  describe('Workflows webhook', () => {
    it('posts the card envelope and succeeds on 202 without an external id', async () => {
      const flow = fake.addWorkflow();
      const outcome = await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url }));
      assert.deepEqual(outcome, { kind: 'success', httpStatus: 202 });
      const [req] = fake.at('workflow');
      assert.equal(req.method, 'POST');
      assert.equal(req.query.get('sig'), flow.sig);
      assert.match(String(req.headers['content-type']), /^application\/json/);
      const body = JSON.parse(req.body);
      assert.equal(body.type, 'message');
      assert.equal(body.attachments[0].content.body[0].items[0].text, '🟠 Checkout down');
    });

    it('pauses when the flow is gone (404), turned off, or the signature is refused (401)', async () => {
      const flow = fake.addWorkflow();
      const gone = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url.replace(flow.id, 'f'.repeat(32)) })));
      assert.equal(gone.kind, 'permanent');
      assert.equal(gone.httpStatus, 404);
      assert.equal(gone.errorCode, 'WorkflowNotFound');
      assert.match(gone.kind === 'permanent' ? gone.pauseReason ?? '' : '', /workflow .* is gone/);

      fake.workflows.get(flow.id)!.enabled = false;
      const off = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url })));
      assert.equal(off.errorCode, 'WorkflowTriggerIsNotEnabled');
      assert.match(off.kind === 'permanent' ? off.pauseReason ?? '' : '', /turned off/);
      fake.workflows.get(flow.id)!.enabled = true;

      const badSig = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url.replace(flow.sig, 'wrong-signature') })));
      assert.equal(badSig.httpStatus, 401);
      assert.match(badSig.kind === 'permanent' ? badSig.pauseReason ?? '' : '', /signature/);
    });

    it('retries 429 after Retry-After, or after the "try again in N seconds" of the body', async () => {
      const flow = fake.addWorkflow();
      fake.fail('workflow', teamsErrors.flowRateLimited(3), teamsErrors.flowRateLimited(7, false));
      const withHeader = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url })));
      assert.deepEqual([withHeader.kind, withHeader.kind === 'retryable' && withHeader.retryAfterMs], ['retryable', 3000]);
      const bodyOnly = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url })));
      assert.deepEqual([bodyOnly.kind, bodyOnly.kind === 'retryable' && bodyOnly.retryAfterMs], ['retryable', 7000]);
      assert.equal(retryHintFromBody('nothing here'), undefined);
    });

    it('retries 5xx and fails a 400 without pausing', async () => {
      const flow = fake.addWorkflow();
      fake.fail('workflow', teamsErrors.serverError(502), { status: 400, body: '{"error":{"code":"InvalidRequestContent","message":"bad"}}' });
      assert.equal(failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url }))).kind, 'retryable');
      const bad = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url })));
      assert.equal(bad.kind, 'permanent');
      assert.equal(bad.kind === 'permanent' && bad.pauseReason, undefined);
    });

    it('never puts the signed URL into an error, even when the flow echoes it', async () => {
      const flow = fake.addWorkflow();
      fake.fail('workflow', { status: 400, body: JSON.stringify({ error: { code: 'Bad', message: `bad request to ${flow.url} sig ${flow.sig}` } }) });
      const outcome = failed(await deliver(ctx({ mode: 'workflow', webhookUrl: flow.url })));
      assert.ok(!outcome.error.includes(flow.sig), outcome.error);
    });

    it('refuses a stored retired connector URL at delivery time and pauses', async () => {
      // the attempt activity parses the stored config once, before the provider is called
      const parsed = parseDeliveryInput(teamsProvider, { mode: 'workflow', webhookUrl: 'https://contoso.webhook.office.com/webhookb2/x/IncomingWebhook/y/z' }, undefined);
      assert.ok(!parsed.ok);
      const outcome = failed(parsed.outcome);
      assert.equal(outcome.errorCode, 'invalid_config');
      assert.match(outcome.kind === 'permanent' ? outcome.pauseReason ?? '' : '', /Workflows/);
      assert.equal(fake.requests.length, 0);
    });
  });

  describe('Microsoft Graph', () => {
    it('gets a client-credentials token, posts the card and records team:channel:message', async () => {
      const outcome = await deliver(ctx(graph()));
      assert.equal(outcome.kind, 'success');
      const [message] = fake.messages(team.id, team.channels[1]);
      assert.equal(outcome.kind === 'success' && outcome.externalId, `${team.id}:${team.channels[1]}:${message.id}`);
      assert.equal(outcome.httpStatus, 201);
      const [tokenReq] = fake.at('token');
      assert.equal(tokenReq.path, `/${fake.tenantId}/oauth2/v2.0/token`);
      const form = new URLSearchParams(tokenReq.body);
      assert.deepEqual(Object.fromEntries(form), {
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
        grant_type: 'client_credentials',
        scope: `${fake.url}/.default`,
      });
      const [post] = fake.at('message');
      assert.equal(post.headers.authorization, `Bearer ${fake.issuedTokens.at(-1)}`);
      assert.equal(post.path, `/v1.0/teams/${team.id}/channels/${encodeURIComponent(team.channels[1])}/messages`);
      assert.equal(message.card.body[0].items[0].text, '🟠 Checkout down');
    });

    it('caches the token: three deliveries, one token request', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await deliver(ctx(graph()))).kind, 'success');
      assert.equal(fake.at('token').length, 1);
      assert.equal(fake.at('message').length, 3);
    });

    it('fetches a fresh token once when Graph says the cached one is no longer valid', async () => {
      const before = fake.issuedTokens.length;
      assert.equal((await deliver(ctx(graph()))).kind, 'success');
      fake.revokeTokens();
      assert.equal((await deliver(ctx(graph()))).kind, 'success');
      assert.equal(fake.at('token').length, 2);
      const [old, fresh] = fake.issuedTokens.slice(before);
      assert.deepEqual(fake.at('message').map((r) => r.headers.authorization), [`Bearer ${old}`, `Bearer ${old}`, `Bearer ${fresh}`]);
    });

    it('replies in the thread on a follow-up and closes with a Resolved card, keeping the external id', async () => {
      const first = await deliver(ctx(graph()));
      const externalId = first.kind === 'success' ? first.externalId! : assert.fail('first post failed');
      const update = await deliver(ctx(graph(), { followUp: { externalId } }));
      const resolved = await deliver(ctx(graph(), { followUp: { externalId } }, true));
      assert.deepEqual([update, resolved].map((o) => o.kind === 'success' && o.externalId), [externalId, externalId]);
      const root = fake.messages(team.id, team.channels[1]).find((m) => externalId.endsWith(`:${m.id}`))!;
      assert.equal(root.replies.length, 2);
      assert.equal(root.replies[0].card.body[0].items[0].text, '🟠 Incident created');
      assert.equal(root.replies[1].card.body[0].items[0].text, '✅ Resolved: Checkout down');
      assert.equal(root.replies[1].card.body[0].style, 'good');
      assert.match(fake.at('reply')[0].path, new RegExp(`/messages/${root.id}/replies$`));
    });

    it('starts a new thread when the first message is gone, recording the new id', async () => {
      const stale = `${team.id}:${team.channels[1]}:999`;
      const outcome = await deliver(ctx(graph(), { followUp: { externalId: stale } }));
      assert.equal(outcome.kind, 'success');
      const externalId = outcome.kind === 'success' ? outcome.externalId : undefined;
      assert.notEqual(externalId, stale);
      assert.deepEqual(fake.requests.filter((r) => r.route !== 'token').map((r) => r.route), ['reply', 'message']);
      assert.ok(fake.messages(team.id, team.channels[1]).some((m) => externalId === `${team.id}:${team.channels[1]}:${m.id}`));
    });

    it('pauses when the channel or team no longer exists (404)', async () => {
      const outcome = failed(await deliver(ctx({ mode: 'graph', teamId: team.id, channelId: '19:gone@thread.tacv2' })));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.httpStatus, 404);
      assert.equal(outcome.errorCode, 'NotFound');
      assert.match(outcome.kind === 'permanent' ? outcome.pauseReason ?? '' : '', /no longer exists/);
    });

    it('explains the app-only refusal (401) and a missing permission (403) without pausing', async () => {
      fake.fail('message', teamsErrors.appOnlyRefused(), teamsErrors.forbidden());
      const appOnly = failed(await deliver(ctx(graph())));
      assert.equal(appOnly.kind, 'permanent');
      assert.equal(appOnly.httpStatus, 401);
      assert.ok(appOnly.error.startsWith(APP_ONLY_REFUSED), appOnly.error);
      assert.equal(appOnly.kind === 'permanent' && appOnly.pauseReason, undefined);
      const forbidden = failed(await deliver(ctx(graph())));
      assert.equal(forbidden.kind, 'permanent');
      assert.match(forbidden.error, /403 refused: the app lacks a permission .*Missing role permissions/);
      assert.equal(forbidden.kind === 'permanent' && forbidden.pauseReason, undefined);
    });

    it('retries 429 after Retry-After and 5xx', async () => {
      fake.fail('message', teamsErrors.graphRateLimited(4), teamsErrors.serverError(503));
      const limited = failed(await deliver(ctx(graph())));
      assert.deepEqual([limited.kind, limited.kind === 'retryable' && limited.retryAfterMs, limited.errorCode], ['retryable', 4000, 'TooManyRequests']);
      assert.equal(failed(await deliver(ctx(graph()))).kind, 'retryable');
    });

    it('fails a wrong client secret permanently with the AADSTS reason, never the secret', async () => {
      const wrong = { ...connection, clientSecret: 'wrong~secret~value~123' };
      const outcome = failed(await deliver(ctx(graph(), { connection: wrong })));
      assert.equal(outcome.kind, 'permanent');
      assert.equal(outcome.httpStatus, 401);
      assert.equal(outcome.errorCode, 'invalid_client');
      assert.match(outcome.error, /client secret is wrong/);
      assert.match(outcome.error, /AADSTS7000215/);
      assert.doesNotMatch(outcome.error, /Trace ID/);
      assert.ok(!outcome.error.includes('wrong~secret~value~123'));
      assert.equal(outcome.kind === 'permanent' && outcome.pauseReason, undefined);
      assert.equal(fake.at('message').length, 0);
    });

    it('names an unknown tenant or client id, and retries a throttled token endpoint', async () => {
      const tenant = failed(await deliver(ctx(graph(), { connection: { ...connection, tenantId: 'nope' } })));
      assert.match(tenant.error, /invalid_request: the tenant does not exist/);
      const client = failed(await deliver(ctx(graph(), { connection: { ...connection, clientId: 'nope' } })));
      assert.match(client.error, /unauthorized_client: no app with this client id/);
      fake.fail('token', teamsErrors.graphRateLimited(2));
      const busy = failed(await deliver(ctx(graph())));
      assert.deepEqual([busy.kind, busy.kind === 'retryable' && busy.retryAfterMs], ['retryable', 2000]);
    });

    it('pauses a graph-mode subscription that has no connection', async () => {
      const outcome = failed(await deliver(ctx(graph(), { connection: undefined })));
      assert.equal(outcome.errorCode, 'connection_missing');
      assert.match(outcome.kind === 'permanent' ? outcome.pauseReason ?? '' : '', /no connection/);
    });
  });

  describe('connection test and options', () => {
    it('reports the teams found, and the token error for a wrong secret', async () => {
      assert.deepEqual(await teamsProvider.testConnection!({ connection, http, query: {} }), { ok: true, message: 'Found 2 team(s)' });
      const bad = await teamsProvider.testConnection!({ connection: { ...connection, clientSecret: 'nope-nope' }, http, query: {} });
      assert.equal(bad.ok, false);
      assert.match(bad.message, /invalid_client/);
    });

    it('lists teams across pages and the channels of a team', async () => {
      fake.pageSize = 1;
      try {
        const teams = await teamsProvider.options!.teams({ connection, http, query: {} });
        assert.deepEqual(teams.map((t) => t.label), ['Finance', 'Operations']);
        assert.equal(fake.at('teams').length, 2, 'followed the nextLink');
      } finally {
        fake.pageSize = 100;
      }
      const channels = await teamsProvider.options!.channels({ connection, http, query: { teamId: team.id } });
      assert.deepEqual(channels, [
        { value: team.channels[0], label: 'General' },
        { value: team.channels[1], label: 'Incidents' },
      ]);
      await assert.rejects(teamsProvider.options!.channels({ connection, http, query: {} }), /teamId/);
    });
  });
});
