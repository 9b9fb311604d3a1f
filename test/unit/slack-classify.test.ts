import assert from 'node:assert/strict';
import { classifyApiFailure, classifyWebhookResponse } from '../../providers/slack/classify';
import { webhookSecrets } from '../../providers/slack/incoming-webhook';
import type { OutboundResponse } from '../../providers/types';

const TOKEN = 'xoxb-1111-2222-abcdefghijklmnop';
const HOOK = 'https://hooks.slack.com/services/T000/B000/s3cr3tHookToken1234';

const res = (status: number, body: string, headers: Record<string, string> = {}): OutboundResponse => ({ status, body, headers, durationMs: 3 });
const api = (body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) =>
  classifyApiFailure(res(status, JSON.stringify(body), headers), body, { method: 'chat.postMessage', channel: 'C0OPS', secrets: [TOKEN] });

describe('slack failure classification', () => {
  describe('Web API (HTTP 200 with ok:false, and HTTP errors)', () => {
    for (const code of ['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org', 'message_limit_exceeded']) {
      it(`retries ${code}`, () => {
        const o = api({ ok: false, error: code });
        assert.equal(o.kind, 'retryable');
        assert.equal(o.errorCode, code);
        assert.equal(o.httpStatus, 200);
      });
    }

    it('retries an HTTP 429 ratelimited no sooner than its Retry-After', () => {
      const o = api({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '7' });
      assert.equal(o.kind, 'retryable');
      assert.equal(o.kind === 'retryable' && o.retryAfterMs, 7000);
      assert.equal(o.errorCode, 'ratelimited');
      assert.equal(o.error, 'Slack chat.postMessage failed: HTTP 429 ratelimited');
    });

    it('honours Retry-After on an HTTP 200 ratelimited too', () => {
      const o = api({ ok: false, error: 'ratelimited' }, 200, { 'retry-after': '3' });
      assert.equal(o.kind === 'retryable' && o.retryAfterMs, 3000);
    });

    for (const status of [500, 502, 503]) {
      it(`retries HTTP ${status}`, () => {
        const o = classifyApiFailure(res(status, '<html>upstream</html>'), undefined, { method: 'chat.update' });
        assert.equal(o.kind, 'retryable');
        assert.equal(o.httpStatus, status);
      });
    }

    for (const code of ['invalid_auth', 'token_revoked', 'token_expired', 'account_inactive']) {
      it(`treats ${code} as permanent and pauses: the token is gone`, () => {
        const o = api({ ok: false, error: code });
        assert.equal(o.kind, 'permanent');
        assert.match(o.kind === 'permanent' ? o.pauseReason ?? '' : '', new RegExp(`bot token \\(${code}\\)`));
      });
    }

    it('treats channel_not_found as permanent and pauses, naming the channel', () => {
      const o = api({ ok: false, error: 'channel_not_found' });
      assert.equal(o.kind, 'permanent');
      assert.match(o.kind === 'permanent' ? o.pauseReason ?? '' : '', /Slack channel C0OPS was not found/);
    });

    for (const code of ['is_archived', 'channel_is_archived', 'is_inactive']) {
      it(`treats ${code} as permanent and pauses: the channel is archived`, () => {
        const o = api({ ok: false, error: code });
        assert.equal(o.kind, 'permanent');
        assert.match(o.kind === 'permanent' ? o.pauseReason ?? '' : '', /C0OPS is archived/);
      });
    }

    for (const [code, hint] of [
      ['not_in_channel', /invite it/],
      ['missing_scope', /lacks a scope.*needed: chat:write/],
      ['invalid_blocks', /rejected the message blocks.*less than 3001/],
      ['msg_too_long', /too long/],
      ['no_permission', /may not post/],
      ['some_future_error', /^Slack chat.postMessage failed: some_future_error \(needed: chat:write; \[ERROR\] must be less than 3001 characters\)$/],
    ] as const) {
      it(`treats ${code} as permanent without pausing (an admin can fix it and recover the deliveries)`, () => {
        const o = api({ ok: false, error: code, needed: 'chat:write', response_metadata: { messages: ['[ERROR] must be less than 3001 characters'] } });
        assert.equal(o.kind, 'permanent');
        assert.equal(o.kind === 'permanent' && o.pauseReason, undefined);
        assert.equal(o.errorCode, code);
        assert.match(o.error, hint);
      });
    }

    it('treats a 200 that is not a Slack result as permanent, pointing at apiBaseUrl', () => {
      const o = classifyApiFailure(res(200, '<html>proxy</html>'), undefined, { method: 'chat.postMessage' });
      assert.equal(o.kind, 'permanent');
      assert.equal(o.errorCode, 'not_slack_api');
      assert.match(o.error, /apiBaseUrl/);
    });

    it('never lets the token into the error, even when Slack echoes it', () => {
      const o = api({ ok: false, error: 'invalid_blocks', response_metadata: { messages: [`[ERROR] bad token ${TOKEN}`] } });
      assert.ok(!o.error.includes(TOKEN), o.error);
      assert.ok(!o.error.includes('abcdefghijklmnop'), o.error);
    });
  });

  describe('incoming webhooks (plain-text codes)', () => {
    const hook = (status: number, body: string, headers: Record<string, string> = {}) => classifyWebhookResponse(res(status, body, headers), webhookSecrets(HOOK));

    it('treats 200 ok as success without an external id', () => {
      assert.deepEqual(hook(200, 'ok'), { kind: 'success', httpStatus: 200 });
    });

    for (const [code, status] of [
      ['no_service', 404],
      ['no_active_hooks', 404],
      ['invalid_token', 403],
      ['no_team', 404],
      ['team_disabled', 403],
      ['channel_not_found', 404],
      ['channel_is_archived', 410],
    ] as const) {
      it(`treats ${code} (${status}) as permanent and pauses: the hook or its channel is gone`, () => {
        const o = hook(status, code);
        assert.equal(o.kind, 'permanent');
        assert.equal(o.kind === 'permanent' && o.errorCode, code);
        assert.match(o.kind === 'permanent' ? o.pauseReason ?? '' : '', new RegExp(code));
      });
    }

    for (const status of [404, 410]) {
      it(`pauses on a bare ${status}: the hook was removed`, () => {
        const o = hook(status, '');
        assert.match(o.kind === 'permanent' ? o.pauseReason ?? '' : '', new RegExp(`HTTP ${status}`));
      });
    }

    for (const [code, status] of [
      ['invalid_payload', 400],
      ['action_prohibited', 403],
      ['posting_to_general_channel_denied', 403],
      ['no_text', 400],
      ['too_many_attachments', 400],
      ['user_not_found', 400],
    ] as const) {
      it(`treats ${code} (${status}) as permanent without pausing`, () => {
        const o = hook(status, code);
        assert.equal(o.kind, 'permanent');
        assert.equal(o.kind === 'permanent' && o.pauseReason, undefined);
        assert.match(o.error, new RegExp(`^Slack incoming webhook answered HTTP ${status}: ${code} \\(`));
      });
    }

    it('retries 429 after its Retry-After, and 500 rollup_error', () => {
      const limited = hook(429, 'rate_limited', { 'retry-after': '4' });
      assert.equal(limited.kind === 'retryable' && limited.retryAfterMs, 4000);
      const rollup = hook(500, 'rollup_error');
      assert.equal(rollup.kind, 'retryable');
      assert.equal(rollup.kind === 'retryable' && rollup.errorCode, 'rollup_error');
    });

    it('never puts the hook URL or its token into the error', () => {
      assert.deepEqual(webhookSecrets(HOOK), [HOOK, '/services/T000/B000/s3cr3tHookToken1234', 's3cr3tHookToken1234']);
      const o = hook(400, `bad request to ${HOOK} (s3cr3tHookToken1234)`);
      assert.equal(o.kind, 'permanent');
      const error = o.kind === 'permanent' ? o.error : '';
      assert.ok(!error.includes('s3cr3tHookToken1234'), error);
    });
  });
});
