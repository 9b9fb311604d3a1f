import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/hub';
import { ServiceProcess } from '../support/processes';
import { getStack } from '../support/stack';

// A worker that cannot work exits (issue 18): the worker process, forked from dist/ as in production, talks to
// Temporal through a proxy; once the proxy is cut for good the worker cannot poll, and the process must end with
// a non-zero code (so a supervisor restarts it) instead of living on with no pollers.
const EXIT_BOUND_MS = 60_000;

describe('a worker that cannot reach Temporal exits non-zero', function () {
  this.timeout(180_000);
  let proxy: TcpProxy;
  let worker: ServiceProcess;

  before(async () => {
    const stack = await getStack();
    const [host, port] = stack.temporal.address.split(':');
    proxy = await new TcpProxy({ host, port: Number(port) }).start();
    const databaseUrl = await stack.createDatabase('worker-exit');
    worker = new ServiceProcess('worker', () => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TASK_QUEUE: `worker-exit-${crypto.randomBytes(4).toString('hex')}`,
      ENCRYPTION_MASTER_KEY: crypto.randomBytes(32).toString('base64url'),
      RETENTION_SCHEDULE: 'off',
      WORKER_TEMPORAL_LOST_AFTER_S: '5',
      WORKER_SHUTDOWN_FORCE_S: '5',
      LOG_LEVEL: 'info',
    }));
  });
  after(async () => {
    await worker?.kill();
    await proxy?.stop();
  });

  it('ends the process with a non-zero code within the bound after its connection is cut for good', async () => {
    worker.start();
    const child = worker.child!;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.once('exit', (code, signal) => (exit = { code, signal }));
    await waitFor(async () => /worker running/.test(worker.output.join('')) || exit, 'the worker to run', 60_000);
    assert.equal(exit, undefined, `the worker ended before the cut:\n${worker.output.join('').slice(-3000)}`);

    await proxy.cut();
    const cutAt = Date.now();
    await waitFor(async () => exit, 'the worker process to exit', EXIT_BOUND_MS, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${worker.output.join('').slice(-3000)}`);
    });
    const tookMs = Date.now() - cutAt;
    assert.notEqual(exit!.code, 0, `exited with ${JSON.stringify(exit)}`);
    assert.equal(exit!.signal, null, 'ended by itself, not killed');
    assert.match(worker.output.join(''), /worker cannot work|Worker failed/);
    console.log(`      worker exited with code ${exit!.code} ${tookMs} ms after the cut`);
  });
});
