import assert from 'node:assert/strict';
import { discordConfigSchema, discordProvider } from '../../providers/discord';
import { classifyDiscordResponse } from '../../providers/discord/classify';
import { webhookEndpoint } from '../../providers/discord/config';
import { buildDiscordMessage } from '../../providers/discord/message';
import { opsgenieConfigSchema, opsgenieProvider } from '../../providers/opsgenie';
import { buildAlert, opsgeniePriority } from '../../providers/opsgenie/alert';
import { classifyOpsgenieResponse } from '../../providers/opsgenie/classify';
import { opsgenieBase } from '../../providers/opsgenie/config';
import { parseRequestStatus } from '../../providers/opsgenie/request-status';
import { pagerdutyConfigSchema, pagerdutyProvider } from '../../providers/pagerduty';
import { classifyPagerdutyResponse } from '../../providers/pagerduty/classify';
import { buildPagerdutyEvent, pagerdutySeverity } from '../../providers/pagerduty/event';
import { createBuiltinRegistry } from '../../providers';
import { subjectDedupKey } from '../../providers/shared/subject-key';
import type { DeliveryEvent, OutboundResponse } from '../../providers/types';

const PD_KEY = 'R0UT1NGKEYa1b2c3d4e5f6g7h8i9j0kL';

function response(status: number, body: unknown = '', headers: Record<string, string> = {}): OutboundResponse {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body), durationMs: 1 };
}

function event(over: Partial<DeliveryEvent> = {}): DeliveryEvent {
  return {
    id: 'em-1', type: 'incident.created', displayName: 'Incident created', occurredAt: '2025-03-04T14:05:41Z', systemIds: ['sys-a'],
    payload: { incidentId: 'inc-1', title: 'API down', severity: 'critical', status: 'investigating' }, subject: 'inc-1', resolves: false, ...over,
  };
}

describe('subject dedup keys', () => {
  it('names the event family and subject, and a test or subject-less event by its delivery', () => {
    assert.equal(subjectDedupKey({ event: event(), deliveryId: 'd1', test: false }, 255), 'hub:incident:inc-1');
    assert.equal(subjectDedupKey({ event: event({ type: 'incident.resolved' }), deliveryId: 'd2', test: false }, 255), 'hub:incident:inc-1');
    assert.equal(subjectDedupKey({ event: event(), deliveryId: 'd1', test: true }, 255), 'hub:delivery:d1');
    assert.equal(subjectDedupKey({ event: event({ subject: undefined }), deliveryId: 'd3', test: false }, 255), 'hub:delivery:d3');
  });

  it('keeps a long key within the limit, distinct per subject', () => {
    const a = subjectDedupKey({ event: event({ subject: 'x'.repeat(400) }), deliveryId: 'd', test: false }, 255);
    const b = subjectDedupKey({ event: event({ subject: `${'x'.repeat(399)}y` }), deliveryId: 'd', test: false }, 255);
    assert.equal(a.length, 255);
    assert.notEqual(a, b);
  });
});

describe('pagerduty events and classification', () => {
  const config = pagerdutyConfigSchema.parse({ routingKey: PD_KEY });

  it('defaults to the US Events API, marks the routing key secret and bound to the API base', () => {
    assert.equal(config.apiBaseUrl, 'https://events.pagerduty.com');
    const entry = createBuiltinRegistry().get('pagerduty')!;
    assert.deepEqual(entry.secretPaths, ['routingKey']);
    assert.deepEqual(entry.secretBindings, { routingKey: ['apiBaseUrl'] });
    assert.ok(!pagerdutyProvider.followUpTarget!(config)!.includes(PD_KEY), 'the target key does not hold the routing key');
  });

  it('maps severities and falls back to the configured default', () => {
    assert.deepEqual(['critical', 'major', 'minor', 'info', 'weird', undefined].map((s) => pagerdutySeverity(s, 'warning')), [
      'critical', 'error', 'warning', 'info', 'warning', 'warning',
    ]);
  });

  it('triggers, acknowledges (when configured) and resolves by the same dedup_key', () => {
    const base = { deliveryId: 'd', test: false, config };
    assert.equal(buildPagerdutyEvent({ ...base, event: event() }).event_action, 'trigger');
    assert.equal(buildPagerdutyEvent({ ...base, event: event(), followUp: { externalId: 'hub:incident:inc-1' } }).event_action, 'trigger');
    const ack = buildPagerdutyEvent({ ...base, config: { ...config, followUpAction: 'acknowledge' }, event: event(), followUp: { externalId: 'hub:incident:inc-1' } });
    assert.deepEqual(ack, { event_action: 'acknowledge', dedup_key: 'hub:incident:inc-1' });
    assert.deepEqual(buildPagerdutyEvent({ ...base, event: event({ resolves: true }) }), { event_action: 'resolve', dedup_key: 'hub:incident:inc-1' });
  });

  it('cuts the summary to 1024 characters', () => {
    const long = buildPagerdutyEvent({ deliveryId: 'd', test: false, config, event: event({ payload: { title: 'x'.repeat(3000) } }) });
    assert.equal((long.payload as { summary: string }).summary.length, 1024);
  });

  it('classifies 202 as success with the dedup_key, 429/5xx retryable, 400 permanent, routing-key 400 pausing', () => {
    assert.deepEqual(classifyPagerdutyResponse(response(202, { status: 'success', message: 'Event processed', dedup_key: 'k' }), 'k', []), {
      kind: 'success', httpStatus: 202, externalId: 'k',
    });
    assert.equal(classifyPagerdutyResponse(response(429, ''), 'k', []).kind, 'retryable');
    assert.equal(classifyPagerdutyResponse(response(502, 'bad gateway'), 'k', []).kind, 'retryable');
    const invalid = classifyPagerdutyResponse(response(400, { status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.severity' is invalid"] }), 'k', []);
    assert.equal(invalid.kind, 'permanent');
    assert.ok(invalid.kind === 'permanent' && !invalid.pauseReason);
    const key = classifyPagerdutyResponse(
      response(400, { status: 'invalid event', message: 'Event object is invalid', errors: [`Length of 'routing_key' is incorrect (should be 32 characters) ${PD_KEY}`] }),
      'k',
      [PD_KEY],
    );
    assert.ok(key.kind === 'permanent' && key.pauseReason);
    assert.ok(key.kind === 'permanent' && !key.error.includes(PD_KEY));
  });
});

describe('opsgenie alerts and classification', () => {
  it('selects the US or EU host, an override winning, and binds the key to both', () => {
    assert.equal(opsgenieBase(opsgenieConfigSchema.parse({ apiKey: 'k' })), 'https://api.opsgenie.com');
    assert.equal(opsgenieBase(opsgenieConfigSchema.parse({ apiKey: 'k', region: 'eu' })), 'https://api.eu.opsgenie.com');
    assert.equal(opsgenieBase(opsgenieConfigSchema.parse({ apiKey: 'k', region: 'eu', apiBaseUrl: 'http://127.0.0.1:9/' })), 'http://127.0.0.1:9');
    assert.deepEqual(createBuiltinRegistry().get('opsgenie')!.secretBindings, { apiKey: ['apiBaseUrl', 'region'] });
    assert.equal(opsgenieConfigSchema.safeParse({ apiKey: 'two words' }).success, false);
    assert.ok(!opsgenieProvider.followUpTarget!(opsgenieConfigSchema.parse({ apiKey: 'secret-key' }))!.includes('secret-key'));
  });

  it('builds an alert within Opsgenie limits: message 130, details as strings, priority by severity', () => {
    const config = opsgenieConfigSchema.parse({ apiKey: 'k', tags: ['ops'] });
    const alert = buildAlert({ config, test: false, event: event({ payload: { title: 'y'.repeat(500), severity: 'major', systems: ['a'], count: 3 } }) }, 'hub:incident:inc-1');
    assert.equal((alert.message as string).length, 130);
    assert.equal(alert.priority, 'P2');
    assert.deepEqual(alert.tags, ['ops', 'incident.created']);
    assert.deepEqual(alert.details, { title: 'y'.repeat(500), severity: 'major', systems: '["a"]', count: '3' });
    assert.equal(opsgeniePriority(undefined, 'P4'), 'P4');
  });

  it('classifies 202 as success with the alias and requestId, 429 waiting X-RateLimit-Period-In-Sec, 401 pausing', () => {
    const ok = classifyOpsgenieResponse(response(202, { result: 'Request will be processed', took: 0.1, requestId: 'r-1' }), 'hub:incident:1', 'creation', []);
    assert.deepEqual(ok, { kind: 'success', httpStatus: 202, externalId: 'hub:incident:1', log: 'Opsgenie accepted creation of alert hub:incident:1 (requestId r-1)' });
    const limited = classifyOpsgenieResponse(response(429, { message: 'throttled' }, { 'x-ratelimit-period-in-sec': '60' }), 'a', 'creation', []);
    assert.ok(limited.kind === 'retryable' && limited.retryAfterMs === 60_000);
    const withHeader = classifyOpsgenieResponse(response(429, { message: 'throttled' }, { 'retry-after': '5', 'x-ratelimit-period-in-sec': '60' }), 'a', 'creation', []);
    assert.ok(withHeader.kind === 'retryable' && withHeader.retryAfterMs === 5000);
    const denied = classifyOpsgenieResponse(response(401, { message: 'Could not authenticate' }), 'a', 'creation', []);
    assert.ok(denied.kind === 'permanent' && /API key/.test(denied.pauseReason ?? ''));
    const invalid = classifyOpsgenieResponse(response(422, { message: 'Message can not be empty.' }), 'a', 'creation', []);
    assert.ok(invalid.kind === 'permanent' && !invalid.pauseReason);
  });
});

describe('opsgenie request status', () => {
  it('tells processed, failed and not-yet-processed requests apart', () => {
    assert.deepEqual(parseRequestStatus(200, JSON.stringify({ data: { isSuccess: true, status: 'Alert created', alertId: 'a1' } })), { state: 'done', alertId: 'a1', status: 'Alert created' });
    assert.deepEqual(parseRequestStatus(200, JSON.stringify({ data: { success: false, status: 'Alert does not exist' } })), { state: 'failed', status: 'Alert does not exist' });
    assert.deepEqual(parseRequestStatus(404, JSON.stringify({ message: 'Request not found. It might not be processed, yet.' })), { state: 'pending' });
    assert.deepEqual(parseRequestStatus(200, 'not json'), { state: 'pending' });
    assert.deepEqual(parseRequestStatus(200, JSON.stringify({ data: {} })), { state: 'pending' });
  });
});

describe('discord messages and classification', () => {
  const url = 'https://discord.com/api/webhooks/123/tok-en_1';

  it('accepts only Discord webhook URLs and rewrites them onto apiBaseUrl', () => {
    assert.equal(discordConfigSchema.safeParse({ webhookUrl: 'https://evil.example/api/webhooks/1/x' }).success, false);
    assert.equal(webhookEndpoint({ webhookUrl: url }), url);
    assert.equal(webhookEndpoint({ webhookUrl: 'https://discord.com/api/v10/webhooks/123/t', apiBaseUrl: 'http://127.0.0.1:1/api/' }), 'http://127.0.0.1:1/api/webhooks/123/t');
    assert.equal(discordProvider.followUpTarget!(discordConfigSchema.parse({ webhookUrl: url })), 'discord:123');
  });

  it('builds an embed within Discord limits, with mentions off', () => {
    const config = discordConfigSchema.parse({ webhookUrl: url });
    const m = buildDiscordMessage({ config, test: false, event: event({ payload: { title: 't'.repeat(600), description: 'd'.repeat(9000), severity: 'critical' } }) });
    const [embed] = m.embeds as Array<{ title: string; description: string; color: number }>;
    assert.equal(embed.title.length, 256);
    assert.equal(embed.description.length, 4096);
    assert.equal(embed.color, 0xe01e5a);
    assert.deepEqual(m.allowed_mentions, { parse: [] });
  });

  it('waits retry_after from the body first, then X-RateLimit-Reset-After, then Retry-After', () => {
    const wait = (res: OutboundResponse) => {
      const o = classifyDiscordResponse(res, []);
      return o.kind === 'retryable' ? o.retryAfterMs : 'not retryable';
    };
    assert.equal(wait(response(429, { message: 'limited', retry_after: 64.57, global: false }, { 'retry-after': '65' })), 64_570);
    assert.equal(wait(response(429, '', { 'x-ratelimit-reset-after': '2.5', 'retry-after': '3' })), 2500);
    assert.equal(wait(response(429, '', { 'retry-after': '3' })), 3000);
    assert.equal(wait(response(503, '')), undefined);
  });

  it('pauses on an unknown webhook or invalid token, not on an unknown message or a bad form', () => {
    const gone = classifyDiscordResponse(response(404, { message: 'Unknown Webhook', code: 10015 }), []);
    assert.ok(gone.kind === 'permanent' && gone.pauseReason);
    const token = classifyDiscordResponse(response(401, { message: 'Invalid Webhook Token', code: 50027 }), []);
    assert.ok(token.kind === 'permanent' && token.pauseReason);
    const message = classifyDiscordResponse(response(404, { message: 'Unknown Message', code: 10008 }), []);
    assert.ok(message.kind === 'permanent' && !message.pauseReason);
    const form = classifyDiscordResponse(response(400, { message: 'Invalid Form Body', code: 50035 }), []);
    assert.ok(form.kind === 'permanent' && !form.pauseReason && form.errorCode === 'discord_50035');
    assert.deepEqual(classifyDiscordResponse(response(200, { id: '99', channel_id: '1' }), []), { kind: 'success', httpStatus: 200, externalId: '99' });
  });
});
