import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setNice, threadNices } from '../../src/priority';

/**
 * DELIVERY_NICE (src/priority.ts): Linux keeps a nice value per thread, so setting a process means setting each
 * of its threads, and a thread started afterwards must inherit it. A child node process with worker threads
 * stands in for the worker (its workflow threads start after the worker set its priority).
 */
describe('setNice: every thread of a process, and the threads it starts later', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  // a process with two worker threads that starts one more on each line it reads, and says "started N"
  const script = `
    const { Worker } = require('node:worker_threads');
    const start = () => new Worker('setInterval(() => {}, 1000)', { eval: true });
    start(); start();
    let n = 2;
    process.stdin.on('data', () => { start(); n++; setTimeout(() => process.stdout.write('started ' + n + '\\n'), 200); });
    setTimeout(() => process.stdout.write('ready\\n'), 300);
  `;
  async function line(c: ChildProcess, want: RegExp): Promise<void> {
    let seen = '';
    while (!want.test(seen)) seen += String((await once(c.stdout!, 'data'))[0]);
  }

  it('sets the threads that exist and the ones started after it', async () => {
    child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    await line(child, /ready/);
    const before = threadNices(child.pid!);
    assert.deepEqual([...new Set(before)], [0], `a new process starts at 0: ${before}`);

    const { threads } = setNice(7, child.pid!);
    assert.ok(threads >= 8, `node's own threads and two workers: ${threads}`);
    assert.deepEqual([...new Set(threadNices(child.pid!))], [7]);

    child.stdin!.write('more\n');
    await line(child, /started 3/);
    const after = threadNices(child.pid!);
    assert.ok(after.length > threads, `a thread was added: ${threads} -> ${after.length}`);
    assert.deepEqual([...new Set(after)], [7], `a thread started later inherits it: ${after}`);
  });

  it('returns without throwing for a process that has exited', async () => {
    child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await once(child, 'exit');
    assert.deepEqual(setNice(5, pid), { threads: 0 });
  });
});
