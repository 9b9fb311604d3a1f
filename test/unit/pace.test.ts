import assert from 'node:assert/strict';
import { Pace } from '../../activities/pace';

// The pace that bounds how fast background jobs ask for redeliveries and starts (BACKGROUND_REQUESTS_PER_SECOND).
describe('Pace', () => {
  it('lets the first group go at once and spaces the next ones by their size, over every caller', async () => {
    const pace = new Pace(100); // 100 a second: a group of 10 takes 100 ms of the budget
    const t0 = Date.now();
    const at: number[] = [];
    // three callers at once, as the recoveries and replays of one worker process are
    await Promise.all([0, 1, 2].map(() => pace.take(10).then(() => at.push(Date.now() - t0))));
    at.sort((a, b) => a - b);
    assert.ok(at[0] < 50, `first group at once (${at[0]} ms)`);
    // a busy machine can only make the later groups later, never earlier
    assert.ok(at[1] >= 95, `second group after 100 ms (${at[1]} ms)`);
    assert.ok(at[2] >= 195, `third group after 200 ms (${at[2]} ms)`);
  });

  it('does not bank unused time: after a pause the next group goes at once, and the one after waits', async () => {
    const pace = new Pace(50);
    await pace.take(1);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await pace.take(5); // 100 ms of budget
    assert.ok(Date.now() - t0 < 50);
    await pace.take(1);
    assert.ok(Date.now() - t0 >= 95, `${Date.now() - t0} ms`);
  });
});
