import assert from 'node:assert/strict';
import { DEFAULT_LEARNED_MS, learnedWindowMs } from '../../src/targets/rate-limits';

describe('rate limits per destination: learned windows', () => {
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
