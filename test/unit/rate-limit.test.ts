import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/ingest/rate-limit';

describe('ingest rate limiter', () => {
  it('allows a burst, then refuses with the wait until the next token', () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
    assert.equal(limiter.take('a'), 100);
    now = 100;
    assert.equal(limiter.take('a'), 0);
  });

  it('keeps one bucket per caller', () => {
    const limiter = new RateLimiter(1, 1, () => 0);
    assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('b'), 0);
    assert.ok(limiter.take('a') > 0);
  });

  it('never limits when the rate is 0', () => {
    const limiter = new RateLimiter(0, 1, () => 0);
    for (let i = 0; i < 100; i++) assert.equal(limiter.take('a'), 0);
  });
});
