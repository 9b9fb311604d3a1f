import assert from 'node:assert/strict';
import { buildChatMessage, escapeCardText } from '../../providers/google-chat/card';
import { classifyChatResponse } from '../../providers/google-chat/classify';
import { googleChatTarget, webhookSecrets } from '../../providers/google-chat/config';
import { postUrl, threadKeyFor } from '../../providers/google-chat/deliver';
import { googleChatConfigSchema } from '../../providers/google-chat';
import type { DeliveryEvent, OutboundResponse } from '../../providers/types';
import { registerRedactions, sanitise } from '../../providers/shared/sanitise';
import { googleChatProvider } from '../../providers/google-chat';

const URL_ = 'https://chat.googleapis.com/v1/spaces/AAAAbc123/messages?key=AIzaSyKEY0123456789&token=Tok3n-abc%3D';
const res = (status: number, body: unknown, headers: Record<string, string> = {}): OutboundResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  durationMs: 1,
});
const gErr = (code: number, message: string, status: string) => ({ error: { code, message, status } });

const EVENT: DeliveryEvent = {
  id: 'evt_1',
  type: 'incident.created',
  displayName: 'Incident created',
  occurredAt: '2025-03-04T14:07:12.000Z',
  systemIds: ['sys-a'],
  payload: { incidentId: 'inc_1', title: 'Checkout <b>down</b>', severity: 'major', status: 'investigating', url: 'https://status.example.com/i/1' },
  subject: 'inc_1',
  resolves: false,
};
const ctx = (event: Partial<DeliveryEvent> = {}) => ({
  deliveryId: 'dlv_1',
  event: { ...EVENT, ...event },
  subscription: { id: 'sub_1', name: 'S' },
  test: false,
});

describe('google-chat provider: config, cards, thread keys, classification', () => {
  // the provider's secret shapes, as registering it does
  before(() => registerRedactions('google-chat', googleChatProvider.redact ?? []));
  it('accepts only incoming webhook URLs with key and token', () => {
    assert.ok(googleChatConfigSchema.safeParse({ webhookUrl: URL_ }).success);
    for (const bad of [
      'https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k',
      'https://chat.googleapis.com/v1/spaces/AAAA/members?key=k&token=t',
      'ftp://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t',
      'https://u:p@chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t',
    ]) {
      const parsed = googleChatConfigSchema.safeParse({ webhookUrl: bad });
      assert.equal(parsed.success, false, bad);
      assert.deepEqual(parsed.error!.issues[0].path, ['webhookUrl']);
    }
  });

  it('names the space as the follow-up target, never the key or token', () => {
    const target = googleChatTarget({ webhookUrl: URL_, threadFollowUps: true })!;
    assert.equal(target, 'google-chat:https://chat.googleapis.com:spaces/AAAAbc123');
    assert.equal(googleChatTarget({ webhookUrl: URL_, threadFollowUps: false }), undefined);
  });

  it('derives a thread key per owner and subject, hashing unusual subjects', () => {
    assert.equal(threadKeyFor('incident.updated', 'inc-42'), 'incident:inc-42');
    assert.equal(threadKeyFor('incident.resolved', 'inc-42'), threadKeyFor('incident.created', 'inc-42'));
    assert.match(threadKeyFor('maintenance.started', 'a b/c?'), /^maintenance:sha256:[0-9a-f]{64}$/);
  });

  it('adds threadKey and messageReplyOption to the webhook URL and keeps key and token', () => {
    const url = new URL(postUrl(URL_, 'incident:inc-42'));
    assert.equal(url.searchParams.get('key'), 'AIzaSyKEY0123456789');
    assert.equal(url.searchParams.get('token'), 'Tok3n-abc=');
    assert.equal(url.searchParams.get('threadKey'), 'incident:inc-42');
    assert.equal(url.searchParams.get('messageReplyOption'), 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
    assert.equal(postUrl(URL_, undefined), URL_);
  });

  it('escapes payload text in the card and labels resolutions', () => {
    assert.equal(escapeCardText('<a href="x">&'), '&#60;a href=&#34;x&#34;&#62;&#38;');
    const m = buildChatMessage(ctx());
    assert.equal(m.text, '[MAJOR] Checkout <b>down</b>');
    assert.equal((m.cardsV2[0].card.header as { title: string }).title, '[MAJOR] Checkout <b>down</b>', 'header titles are plain text');
    const widgets = (m.cardsV2[0].card.sections as { widgets: any[] }[])[0].widgets;
    assert.deepEqual(widgets[1], { decoratedText: { topLabel: 'Severity', text: '<font color="#ECB22E">major</font>' } });
    const resolved = buildChatMessage(ctx({ resolves: true, type: 'incident.resolved', displayName: 'Incident resolved' }));
    assert.equal(resolved.text, 'Resolved: Checkout <b>down</b>');
  });

  it('renders a template with HTML-escaped values', () => {
    const m = buildChatMessage(ctx(), '<b>{{payload.title}}</b> is {{payload.status}}');
    const widgets = (m.cardsV2[0].card.sections as { widgets: any[] }[])[0].widgets;
    assert.ok(widgets.some((w) => w.textParagraph?.text === '<b>Checkout &#60;b&#62;down&#60;/b&#62;</b> is investigating'), JSON.stringify(widgets));
  });

  it('classifies answers: name on success, 429/5xx retryable, 400 permanent, 404/401 pausing', () => {
    const secrets = webhookSecrets(URL_);
    assert.deepEqual(classifyChatResponse(res(200, { name: 'spaces/AAAAbc123/messages/m1.m1' }), secrets), {
      kind: 'success', httpStatus: 200, externalId: 'spaces/AAAAbc123/messages/m1.m1',
    });
    const limited = classifyChatResponse(res(429, gErr(429, 'Resource has been exhausted', 'RESOURCE_EXHAUSTED'), { 'retry-after': '7' }), secrets);
    assert.equal(limited.kind, 'retryable');
    assert.equal(limited.kind === 'retryable' && limited.retryAfterMs, 7000);
    assert.equal(classifyChatResponse(res(503, gErr(503, 'The service is currently unavailable.', 'UNAVAILABLE')), secrets).kind, 'retryable');
    const bad = classifyChatResponse(res(400, gErr(400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT')), secrets);
    assert.equal(bad.kind, 'permanent');
    assert.equal(bad.kind === 'permanent' && bad.pauseReason, undefined);
    assert.equal(bad.kind === 'permanent' && bad.error, 'HTTP 400 from Google Chat (INVALID_ARGUMENT): Invalid JSON payload received.');
    const gone = classifyChatResponse(res(404, gErr(404, 'Requested entity was not found.', 'NOT_FOUND')), secrets);
    assert.ok(gone.kind === 'permanent' && /was deleted/.test(gone.pauseReason ?? ''), JSON.stringify(gone));
    const revoked = classifyChatResponse(res(401, gErr(401, 'Request had invalid authentication credentials.', 'UNAUTHENTICATED')), secrets);
    assert.ok(revoked.kind === 'permanent' && revoked.pauseReason, JSON.stringify(revoked));
  });

  it('masks the key and token when an error echoes them', () => {
    const echoed = classifyChatResponse(res(400, gErr(400, `bad call ${URL_} token Tok3n-abc=`, 'INVALID_ARGUMENT')), webhookSecrets(URL_));
    const text = JSON.stringify(echoed);
    assert.ok(!text.includes('Tok3n-abc') && !text.includes('AIzaSyKEY0123456789'), text);
  });

  it('masks the whole query of a Google Chat webhook URL in any text (sanitiser rule)', () => {
    assert.equal(
      sanitise(`POST ${URL_}&threadKey=incident:1 failed`),
      'POST https://chat.googleapis.com/v1/spaces/AAAAbc123/messages?*** failed',
    );
  });
});
