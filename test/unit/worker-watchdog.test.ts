import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger';
import { watchWorkers, type WatchedWorker } from '../../src/worker/watchdog';

// The watchdog of a worker process (issue 18): an unasked stop, a dead poller or a silent Temporal end the
// process with 1 after the force time; a stop that was asked for is not fatal.
class FakeWorker implements WatchedWorker {
  status = { runState: 'RUNNING', workflowPollerState: 'POLLING', activityPollerState: 'POLLING' };
  shutdowns = 0;
  getStatus() {
    return this.status;
  }
  shutdown() {
    this.shutdowns++;
    this.status = { ...this.status, runState: 'DRAINING' };
  }
}

const logger = createLogger('fatal', 'watchdog-test');

function watch(worker: FakeWorker, probe: () => Promise<void> = async () => undefined, lostAfterMs = 60_000) {
  const exits: number[] = [];
  let exited: () => void;
  const exitedP = new Promise<void>((r) => (exited = r));
  const dog = watchWorkers({ workers: [worker], probe, logger, lostAfterMs, forceExitAfterMs: 50, everyMs: 10, exit: (c) => { exits.push(c); exited(); } });
  return { dog, exits, exitedP };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))]);
}

describe('worker watchdog', () => {
  it('exits 1 when the SDK stops the worker unasked (an "Initiating Worker shutdown")', async () => {
    const w = new FakeWorker();
    const { dog, exits, exitedP } = watch(w);
    w.status = { ...w.status, runState: 'DRAINING' };
    await within(exitedP, 2_000, 'exit');
    assert.deepEqual(exits, [1]);
    assert.match(dog.fatal!, /left RUNNING \(DRAINING\)/);
    dog.stop();
  });

  it('shuts the worker down and exits 1 when a poller failed while the worker runs', async () => {
    const w = new FakeWorker();
    const { dog, exits, exitedP } = watch(w);
    w.status = { ...w.status, activityPollerState: 'FAILED' };
    await within(exitedP, 2_000, 'exit');
    assert.deepEqual(exits, [1]);
    assert.equal(w.shutdowns, 1);
    dog.stop();
  });

  it('exits 1 once Temporal has not answered for lostAfterMs', async () => {
    const w = new FakeWorker();
    const { dog, exits, exitedP } = watch(w, async () => { throw new Error('unavailable'); }, 100);
    await within(exitedP, 2_000, 'exit');
    assert.deepEqual(exits, [1]);
    assert.match(dog.fatal!, /Temporal has not answered/);
    dog.stop();
  });

  it('treats a stop that was asked for as not fatal (and still bounds it)', async () => {
    const w = new FakeWorker();
    const { dog, exitedP } = watch(w);
    dog.stopping();
    w.shutdown();
    await within(exitedP, 2_000, 'forced exit');
    assert.equal(dog.fatal, undefined);
    dog.stop();
  });
});
