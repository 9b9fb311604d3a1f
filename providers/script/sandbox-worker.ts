import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, SandboxFetchReply, ToWorker } from './protocol';
import { isCompiledWasm, useCompiledWasm } from './quickjs';
import { runInSandbox, sandboxStats } from './sandbox';

/*
 * Entry point of a sandbox thread (started by pool.ts). It runs one script at a time, so a script that
 * computes until its deadline only ever delays itself, never the thread that delivers events.
 */

const port = parentPort;
if (!port) throw new Error('sandbox-worker must run in a worker thread');

const shared = (workerData as { wasm?: unknown } | null)?.wasm;
if (isCompiledWasm(shared)) useCompiledWasm(shared);

const waiting = new Map<number, (reply: SandboxFetchReply) => void>();
let nextFetchId = 1;

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'fetch-reply') {
    waiting.get(msg.fetchId)?.(msg.reply);
    waiting.delete(msg.fetchId);
    return;
  }
  const { job } = msg;
  void runInSandbox(job, (request, timeoutMs) => {
    const fetchId = nextFetchId++;
    const reply = new Promise<SandboxFetchReply>((resolve) => waiting.set(fetchId, resolve));
    port.postMessage({ type: 'fetch', jobId: job.jobId, fetchId, request, timeoutMs } satisfies FromWorker);
    return reply;
  }).then((result) => {
    waiting.clear(); // replies to a finished run's fetches have nowhere to go
    port.postMessage({ type: 'done', jobId: job.jobId, result, stats: sandboxStats() } satisfies FromWorker);
  });
});
