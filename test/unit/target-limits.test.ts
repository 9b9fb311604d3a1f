import assert from 'node:assert/strict';
import { DEFAULT_LEARNED_MS, learnedWindowMs, rateLimitKey } from '../../src/targets/rate-limits';

describe('rate limits per destination: target keys and learned windows', () => {
  it('keys a webhook by the origin of its url, and a provider by its follow-up target', () => {
    const webhook = { id: 'webhook' };
    assert.equal(rateLimitKey(webhook, { url: 'https://hooks.example.com:8443/a/{{event.type}}?x=1' }), 'https://hooks.example.com:8443');
    assert.equal(rateLimitKey(webhook, { url: 'https://{{payload.host}}/x' }), undefined, 'a templated host has no stable target');
    assert.equal(rateLimitKey(webhook, {}), undefined);
    const slack = { id: 'slack', followUpTarget: (c: { channel: string }) => `slack:https://slack.com/api:${c.channel}` };
    assert.equal(rateLimitKey(slack as never, { channel: 'C1', url: 'https://ignored.example' }), 'slack:https://slack.com/api:C1');
  });

  it('learns from a 429 or a rate-limit error code, with the Retry-After window or a default', () => {
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 429, retryAfterMs: 3000 }), 3000);
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 429 }), DEFAULT_LEARNED_MS);
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 200, errorCode: 'rate_limited', retryAfterMs: 7000 }), 7000);
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 429, errorCode: 'jira_rate_limited' }), DEFAULT_LEARNED_MS);
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 503, retryAfterMs: 2000 }), 2000);
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 503 }), undefined, 'a bare 503 is not a rate limit');
    assert.equal(learnedWindowMs({ outcome: 'retryable', httpStatus: 500 }), undefined);
    assert.equal(learnedWindowMs({ outcome: 'permanent', httpStatus: 429 }), undefined);
    assert.equal(learnedWindowMs({ outcome: 'success', httpStatus: 200 }), undefined);
  });
});
