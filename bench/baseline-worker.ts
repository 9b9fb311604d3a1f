// Baseline worker for the end-to-end scenarios: its own small workflow bundle (bench/baseline-workflow)
// and no-op activities, on the same Temporal server with the service's worker settings
// (WORKER_MAX_CONCURRENT_ACTIVITIES, sticky queue timeout). Run as its own process by bench/run; it
// reports over IPC how many workflows reached their last activity and when each reached its first.
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import http from 'node:http';
import { loadConfig } from '../src/config';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.temporal.address) throw new Error('TEMPORAL_ADDRESS must be set');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./baseline-workflow'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  // bookkeeping for the parent, a map write per activity: the activities themselves do nothing
  const firstActivityAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  function noop(id: string, last: boolean): Promise<void> {
    if (!firstActivityAt.has(id)) firstActivityAt.set(id, Date.now());
    if (last && !completedAt.has(id)) completedAt.set(id, Date.now());
    return Promise.resolve();
  }
  // the floor's webhook POST (compare scenario): keep-alive, like the hub's outbound client
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  function deliver(input: { id: string; url: string }): Promise<void> {
    const body = JSON.stringify({ id: input.id, event: 'incident.created' });
    return new Promise((resolve, reject) => {
      const req = http.request(input.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'webhook-id': input.id } }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: process.env.BENCH_BASELINE_TASK_QUEUE ?? 'bench-baseline',
    workflowBundle: { code },
    stickyQueueScheduleToStartTimeout: '3s',
    maxConcurrentActivityTaskExecutions: config.workerMaxConcurrentActivities,
    activities: { loadPlan: noop, attempt: noop, record: noop, deliver },
  });
  // {type:'stats', prefix, times?}: workflows (ids starting with prefix) that finished their last activity
  process.on('message', (msg: { type?: string; seq?: number; prefix?: string; times?: boolean }) => {
    if (msg?.type !== 'stats') return;
    const prefix = msg.prefix ?? '';
    let completed = 0;
    let lastCompletedAt = 0;
    for (const [id, at] of completedAt) {
      if (!id.startsWith(prefix)) continue;
      completed++;
      lastCompletedAt = Math.max(lastCompletedAt, at);
    }
    const times = msg.times ? Object.fromEntries([...firstActivityAt].filter(([id]) => id.startsWith(prefix))) : undefined;
    process.send?.({ type: 'stats', seq: msg.seq, completed, lastCompletedAt, firstActivityAt: times });
  });
  const running = worker.run();
  process.send?.({ type: 'ready' });
  await running;
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
