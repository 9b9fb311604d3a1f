import assert from 'node:assert/strict';
import { summarise, TRUNCATION_MARKER } from '../../providers/shared/format';
import { teamsProvider } from '../../providers/teams';
import { buildCard, cardText, DESCRIPTION_MAX_CHARS, escapeCardText, fitCard, MESSAGE_BUDGET_BYTES, TITLE_MAX_CHARS } from '../../providers/teams/card';
import { attachmentIdFor, decodeExternalId, encodeExternalId, graphMessageBody } from '../../providers/teams/channel';
import { isRetiredConnectorUrl, teamsConfigSchema, teamsConnectionSchema, type TeamsConfig } from '../../providers/teams/config';
import { workflowEnvelope } from '../../providers/teams/workflows';
import { ProviderRegistry } from '../../providers/registry';
import type { DeliveryEvent } from '../../providers/types';

function event(payload: Record<string, unknown>, extra: Partial<DeliveryEvent> = {}): DeliveryEvent {
  return {
    id: 'evt_1',
    type: 'incident.created',
    displayName: 'Incident created',
    occurredAt: '2025-03-04T14:07:12.000Z',
    systemIds: ['sys-a', 'sys-b'],
    payload,
    subject: 'inc_1',
    resolves: false,
    ...extra,
  };
}

const ctxOf = (ev: DeliveryEvent, test = false) => ({ deliveryId: 'dlv_1', event: ev, subscription: { id: 'sub_1', name: 'Ops' }, test });
const WORKFLOW: TeamsConfig = { mode: 'workflow', webhookUrl: 'https://example.invalid/workflows/x?sig=abc' };

function textBlocks(card: any): string[] {
  const out: string[] = [];
  const walk = (node: any) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      if (node.type === 'TextBlock') out.push(node.text);
      Object.values(node).forEach(walk);
    }
  };
  walk(card.body);
  return out;
}

describe('Teams Adaptive Card', () => {
  const payload = {
    incidentId: 'inc_1',
    title: 'Checkout API returning 502s',
    severity: 'critical',
    status: 'investigating',
    description: 'Error rate **above 20%** after the deploy.',
    url: 'https://status.example.com/incidents/inc_1',
    systemNames: ['Checkout API', 'Payments'],
  };

  it('shows title with severity emoji, a fact set, the description and an "Open in status page" action', () => {
    const ctx = ctxOf(event(payload));
    const card = buildCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW)) as any;
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.version, '1.4');
    const header = card.body[0];
    assert.equal(header.type, 'Container');
    assert.equal(header.style, 'attention');
    assert.equal(header.items[0].text, '🔴 Checkout API returning 502s');
    assert.equal(header.items[1].text, 'Incident created');
    assert.deepEqual(card.body[1], {
      type: 'FactSet',
      facts: [
        { title: 'Event', value: 'Incident created' },
        { title: 'Systems', value: 'Checkout API, Payments' },
        { title: 'Severity', value: 'Critical' },
        { title: 'Status', value: 'Investigating' },
        { title: 'Time', value: '2025-03-04 14:07:12 UTC' },
      ],
    });
    assert.deepEqual(card.body[2], { type: 'TextBlock', text: 'Error rate **above 20%** after the deploy.', wrap: true });
    assert.deepEqual(card.actions, [{ type: 'Action.OpenUrl', title: 'Open in status page', url: payload.url }]);
  });

  it('colours by severity and leaves out facts and the link the payload does not have', () => {
    const ctx = ctxOf(event({ title: 'Slow', severity: 'major', url: 'javascript:alert(1)' }));
    const card = buildCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW)) as any;
    assert.equal(card.body[0].style, 'warning');
    assert.equal(card.body[0].items[0].text, '🟠 Slow');
    assert.deepEqual(card.body[1].facts.map((f: any) => f.title), ['Event', 'Systems', 'Severity', 'Time']);
    assert.equal(card.body[1].facts[1].value, 'sys-a, sys-b', 'system ids when the payload names no systems');
    assert.equal(card.actions, undefined, 'no link for a non-http url');
    assert.equal(card.body.length, 2, 'no description block');
  });

  it('makes a green "Resolved" card for a resolving event and an update card for a follow-up', () => {
    const resolved = ctxOf(event({ title: 'Checkout down', severity: 'critical', resolutionMessage: 'Rolled back' }, { type: 'incident.resolved', displayName: 'Incident resolved', resolves: true }));
    const card = buildCard(summarise(resolved), 'resolved', cardText(resolved, WORKFLOW)) as any;
    assert.equal(card.body[0].style, 'good');
    assert.equal(card.body[0].items[0].text, '✅ Resolved: Checkout down');
    assert.equal(card.body[2].text, 'Rolled back');

    const updated = ctxOf(event({ title: 'Checkout down', severity: 'minor', updateMessage: 'Rollback started' }, { displayName: 'Incident updated' }));
    const update = buildCard(summarise(updated), 'update', cardText(updated, WORKFLOW)) as any;
    assert.equal(update.body[0].style, 'accent');
    assert.deepEqual(update.body[0].items.map((i: any) => i.text), ['🔵 Incident updated', 'Checkout down']);
    assert.equal(update.body[2].text, 'Rollback started');
  });

  it('marks a test delivery in the subtitle', () => {
    const ctx = ctxOf(event({ title: 'x' }), true);
    const card = buildCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW)) as any;
    assert.equal(card.body[0].items[1].text, 'Incident created · test delivery');
  });

  it('renders title and text templates, writing values on one line', () => {
    const ctx = ctxOf(event({ title: 'Disk\nfull', severity: 'major', description: 'ignored' }));
    const text = cardText(ctx, { ...WORKFLOW, titleTemplate: '[{{payload.severity}}] {{payload.title}}', textTemplate: 'Owner: {{subscription.name}} ({{event.type}})' });
    assert.deepEqual(text, { title: '[major] Disk full', description: 'Owner: Ops (incident.created)' });
  });

  it('checks template paths against the event payload schema at save time', () => {
    const problems = teamsProvider.validateConfig!(
      { ...WORKFLOW, titleTemplate: '{{payload.titel}}' },
      { id: 'incident.created', payloadSchema: { type: 'object', additionalProperties: false, properties: { title: { type: 'string' } } } },
      { hasConnection: false },
    );
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'config.titleTemplate');
    assert.match(problems[0].message, /did you mean "title"/);
  });

  it('keeps payload text out of the HTML body: quotes, tags and </attachment> stay inside the card JSON', () => {
    const nasty = 'a "quoted" <script>alert(1)</script></attachment><attachment id="x"> & \\ back\nslash';
    const ctx = ctxOf(event({ title: nasty, description: nasty }));
    const attachmentId = attachmentIdFor('dlv_1');
    const body = JSON.parse(fitCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW), (card) => graphMessageBody(card, attachmentId)));
    assert.match(attachmentId, /^[0-9a-f]{32}$/);
    assert.deepEqual(body.body, { contentType: 'html', content: `<attachment id="${attachmentId}"></attachment>` });
    assert.equal(body.attachments.length, 1);
    assert.equal(body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(typeof body.attachments[0].content, 'string', 'Graph takes the card as a JSON string');
    const card = JSON.parse(body.attachments[0].content);
    // the card's own markdown escapes (a backslash doubled) are the only change
    assert.equal(card.body[0].items[0].text, `⚪ ${escapeCardText(nasty)}`);
    assert.equal(card.body[2].text, escapeCardText(nasty));
  });

  it('wraps the card in the Workflows message envelope', () => {
    const ctx = ctxOf(event({ title: 't' }));
    const envelope = JSON.parse(fitCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW), workflowEnvelope));
    assert.equal(envelope.type, 'message');
    assert.equal(envelope.attachments.length, 1);
    assert.equal(envelope.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(envelope.attachments[0].contentUrl, null);
    assert.equal(envelope.attachments[0].content.type, 'AdaptiveCard');
  });

  describe('size limit', () => {
    it('cuts a long description to the readable maximum, with the marker', () => {
      const ctx = ctxOf(event({ title: 't', description: 'x'.repeat(60_000) }));
      const envelope = JSON.parse(fitCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW), workflowEnvelope));
      const description = textBlocks(envelope.attachments[0].content)[2];
      assert.equal(description.length, DESCRIPTION_MAX_CHARS);
      assert.ok(description.endsWith(TRUNCATION_MARKER));
    });

    for (const [name, unit] of [['CJK (3 UTF-8 bytes each)', '漢'], ['quotes (escaped twice for Graph)', '"'], ['control characters (\\u escapes)', '\u0001']] as const) {
      it(`cuts a description of ${name} so the Graph body stays just under the byte budget`, () => {
        const ctx = ctxOf(event({ title: 't', description: unit.repeat(30_000) }));
        const body = fitCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW), (card) => graphMessageBody(card, 'a'.repeat(32)));
        const bytes = Buffer.byteLength(body);
        assert.ok(bytes <= MESSAGE_BUDGET_BYTES, `${bytes} bytes`);
        assert.ok(bytes > MESSAGE_BUDGET_BYTES - 100, `uses the budget (${bytes} bytes)`);
        const description = JSON.parse(JSON.parse(body).attachments[0].content).body[2].text as string;
        assert.ok(description.endsWith(TRUNCATION_MARKER));
        assert.ok(description.startsWith(unit.repeat(10)));
      });
    }

    it('keeps a description that fits as it is, and cuts an overlong title', () => {
      const ctx = ctxOf(event({ title: 'T'.repeat(1000), description: 'short' }));
      const envelope = JSON.parse(fitCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW), workflowEnvelope));
      const texts = textBlocks(envelope.attachments[0].content);
      assert.equal(texts[2], 'short');
      assert.equal(texts[0].length, '⚪ '.length + TITLE_MAX_CHARS);
      assert.ok(texts[0].endsWith(TRUNCATION_MARKER));
    });
  });
});

describe('Teams config', () => {
  it('refuses retired Office 365 connector URLs with a pointer to Workflows', () => {
    for (const url of [
      'https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456',
      'https://outlook.office.com/webhook/abc@def/IncomingWebhook/123/456',
      'https://outlook.office365.com/webhook/abc/IncomingWebhook/1/2',
    ]) {
      assert.ok(isRetiredConnectorUrl(url), url);
      const parsed = teamsConfigSchema.safeParse({ mode: 'workflow', webhookUrl: url });
      assert.equal(parsed.success, false, url);
      assert.match(parsed.error!.issues[0].message, /retired.*Workflows/s);
      assert.deepEqual(parsed.error!.issues[0].path, ['webhookUrl']);
    }
  });

  it('accepts Workflows URLs (Power Platform and legacy Logic Apps)', () => {
    for (const url of [
      'https://default0123.45.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1',
      'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s2',
      'https://outlook.office.com/mail/',
    ]) {
      assert.equal(isRetiredConnectorUrl(url), false, url);
    }
    assert.equal(teamsConfigSchema.safeParse({ mode: 'workflow', webhookUrl: 'https://prod-1.x.logic.azure.com/workflows/a?sig=b' }).success, true);
  });

  it('needs teamId and channelId in graph mode and rejects unknown fields', () => {
    assert.equal(teamsConfigSchema.safeParse({ mode: 'graph', teamId: 't' }).success, false);
    assert.equal(teamsConfigSchema.safeParse({ mode: 'graph', teamId: 't/../x', channelId: 'c' }).success, false);
    assert.equal(teamsConfigSchema.safeParse({ mode: 'graph', teamId: 't', channelId: '19:a@thread.tacv2', extra: 1 }).success, false);
    assert.equal(teamsConfigSchema.safeParse({ mode: 'graph', teamId: 't', channelId: '19:a@thread.tacv2' }).success, true);
  });

  it('defaults the authority and Graph URLs and marks the secrets', () => {
    const conn = teamsConnectionSchema.parse({ tenantId: 't', clientId: 'c', clientSecret: 's', graphBaseUrl: 'https://graph.microsoft.us/v1.0/' });
    assert.equal(conn.authorityBaseUrl, 'https://login.microsoftonline.com');
    assert.equal(conn.graphBaseUrl, 'https://graph.microsoft.us/v1.0');
    const entry = new ProviderRegistry().register(teamsProvider);
    assert.deepEqual(entry.secretPaths, ['webhookUrl']);
    assert.deepEqual(entry.connectionSecretPaths, ['clientSecret']);
  });

  it('follows up only in graph mode, keyed by Graph host, tenant, team and channel', () => {
    const conn = teamsConnectionSchema.parse({ tenantId: 'ten', clientId: 'c', clientSecret: 's' });
    assert.equal(teamsProvider.followUpTarget!(WORKFLOW, conn), undefined);
    assert.equal(teamsProvider.followUpTarget!({ mode: 'graph', teamId: 'T', channelId: '19:c@thread.tacv2' }, undefined), undefined);
    assert.equal(
      teamsProvider.followUpTarget!({ mode: 'graph', teamId: 'T', channelId: '19:c@thread.tacv2' }, conn),
      'teams:https://graph.microsoft.com/v1.0:ten:T:19:c@thread.tacv2',
    );
  });

  it('encodes the external id as team:channel:message although channel ids contain colons', () => {
    const ref = { teamId: '0f1e2d3c-aaaa-bbbb-cccc-111122223333', channelId: '19:abc@thread.tacv2', messageId: '1700000000123' };
    const id = encodeExternalId(ref);
    assert.equal(id, '0f1e2d3c-aaaa-bbbb-cccc-111122223333:19:abc@thread.tacv2:1700000000123');
    assert.deepEqual(decodeExternalId(id), ref);
    assert.equal(decodeExternalId('no-colons'), undefined);
    assert.equal(decodeExternalId('a::'), undefined);
  });

  it('escapes link syntax of payload text, keeping emphasis and the template\'s own markdown (issue 19)', () => {
    const ctx = ctxOf(event({ title: '[x](https://evil)', description: 'a\\b [y](https://evil/2) **bold**' }));
    const plain = buildCard(summarise(ctx), 'post', cardText(ctx, WORKFLOW)) as any;
    assert.equal(plain.body[0].items[0].text.endsWith(' \\[x\\](https://evil)'), true, plain.body[0].items[0].text);
    assert.equal(plain.body[2].text, 'a\\\\b \\[y\\](https://evil/2) **bold**');
    const templated = cardText(ctx, { ...WORKFLOW, titleTemplate: '[Runbook](https://runbooks.example/1): {{payload.title}}' });
    assert.equal(templated.title, '[Runbook](https://runbooks.example/1): \\[x\\](https://evil)');
  });
});
