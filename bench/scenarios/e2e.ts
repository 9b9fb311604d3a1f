// Scenario 3 (+7): end-to-end throughput, deliveries completed (success in the log) per second with 1 and
// 10 subscriptions per event, against bare workflows with the same single activity doing nothing, on the
// same Temporal server with the same worker settings. Scenario 7: peak RSS of the API and the worker here.
import type { Client } from '@temporalio/client';
import { performance } from 'node:perf_hooks';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { closedLoop } from '../lib/http';
import { createSubscription, deliveryCounts, drain, postIngest, startBaselineWorker, startHub, waitUntil, type Hub } from '../lib/hub';
import { CpuMeter, type BenchChild } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round } from '../lib/stats';

const BASELINE_QUEUE = 'bench-baseline-e2e';
/** Ingest requests (or baseline "events") in flight at once. */
const CONCURRENCY = 16;
const MB = 1024 * 1024;

/** One batch: `events` events x `fanOut` deliveries, submitted with CONCURRENCY in flight, drained to the end. */
export interface BatchResult {
  events: number;
  fanOut: number;
  deliveries: number;
  completed: number;
  failedOrLost: number;
  submitSeconds: number;
  /** From the first submission to the last completion. */
  seconds: number;
  perSecond: number;
  submitErrors: number;
  timedOut: boolean;
  cpu: ReturnType<CpuMeter['stop']>;
  /** CPU milliseconds (all processes) per completed delivery. */
  cpuMsPerDelivery: number;
}

/** Runs one batch through the service: POST /ingest, then waits for every delivery to be `success` in the log. */
export async function serviceBatch(hub: Hub, cpu: CpuMeter, prefix: string, events: number, fanOut: number, systemIds: string[], timeoutMs: number): Promise<BatchResult> {
  cpu.start();
  const t0 = Date.now();
  const p0 = performance.now();
  const results = await closedLoop(events, CONCURRENCY, (i) => postIngest(hub, `${prefix}-${i}`, systemIds));
  const submitSeconds = (performance.now() - p0) / 1000;
  const submitErrors = results.filter((r) => r.status !== 202).length;
  const expected = (events - submitErrors) * fanOut;
  let counts = await deliveryCounts(hub, `${prefix}-`);
  const done = await waitUntil(async () => {
    counts = await deliveryCounts(hub, `${prefix}-`);
    return counts.success + counts.failed >= expected;
  }, timeoutMs, 250);
  const cpuUse = cpu.stop();
  const endMs = counts.lastSuccessAtMs ?? Date.now();
  const seconds = (endMs - t0) / 1000;
  return {
    events,
    fanOut,
    deliveries: expected,
    completed: counts.success,
    failedOrLost: expected - counts.success,
    submitSeconds: round(submitSeconds, 2),
    seconds: round(seconds, 2),
    perSecond: round(counts.success / seconds, 1),
    submitErrors,
    timedOut: !done,
    cpu: cpuUse,
    cpuMsPerDelivery: round((cpuUse.totalCpuSeconds * 1000) / Math.max(1, counts.success), 2),
  };
}

/** Runs the same batch as bare workflows: `fanOut` workflow starts per "event", as the API does per ingest. */
export async function baselineBatch(
  client: Client,
  worker: BenchChild | BenchChild[],
  cpu: CpuMeter,
  prefix: string,
  events: number,
  fanOut: number,
  timeoutMs: number,
  activities: 1 | 3 = 1,
): Promise<BatchResult> {
  cpu.start();
  const t0 = Date.now();
  const p0 = performance.now();
  let submitErrors = 0;
  await closedLoop(events, CONCURRENCY, (i) =>
    Promise.all(
      Array.from({ length: fanOut }, (_, j) => {
        const id = `${prefix}-${i}-${j}`;
        return client.workflow.start('baselineWorkflow', { taskQueue: BASELINE_QUEUE, workflowId: id, args: [{ id, activities }] }).catch(() => {
          submitErrors++;
        });
      }),
    ),
  );
  const submitSeconds = (performance.now() - p0) / 1000;
  const expected = events * fanOut - submitErrors;
  let st = { completed: 0, lastCompletedAt: 0 };
  const workers = Array.isArray(worker) ? worker : [worker];
  const done = await waitUntil(async () => {
    const each: { completed: number; lastCompletedAt: number }[] = await Promise.all(workers.map((w) => w.ask('stats', { prefix: `${prefix}-` })));
    st = { completed: each.reduce((a, x) => a + x.completed, 0), lastCompletedAt: Math.max(...each.map((x) => x.lastCompletedAt)) };
    return st.completed >= expected;
  }, timeoutMs, 250);
  const cpuUse = cpu.stop();
  const seconds = ((st.lastCompletedAt || Date.now()) - t0) / 1000;
  return {
    events,
    fanOut,
    deliveries: expected,
    completed: st.completed,
    failedOrLost: expected - st.completed,
    submitSeconds: round(submitSeconds, 2),
    seconds: round(seconds, 2),
    perSecond: round(st.completed / seconds, 1),
    submitErrors,
    timedOut: !done,
    cpu: cpuUse,
    cpuMsPerDelivery: round((cpuUse.totalCpuSeconds * 1000) / Math.max(1, st.completed), 2),
  };
}

export const e2eScenario: Scenario = {
  name: 'e2e',
  title: 'End-to-end throughput (1 and 10 subscriptions per event) and peak memory',
  async run(opts: BenchOptions) {
    const timeoutMs = opts.quick ? 45_000 : 90_000;
    const targetSeconds = opts.quick ? 5 : 15;
    const hub = await startHub(opts);
    const receiver = await new BenchReceiver().start();
    let bws: BenchChild[] = [];
    const cpu = new CpuMeter(() => ({
      api: hub.stack.api.child?.pid,
      worker: hub.stack.worker.child?.pid,
      ...Object.fromEntries(bws.map((b, i) => [`baseline-worker${i ? `-${i + 1}` : ''}`, b.pid])),
    }));
    try {
      await createSubscription(hub, { name: 'bench e2e one', url: `${receiver.url}/one`, systemIds: ['sys-one'] });
      for (let j = 0; j < 10; j++) await createSubscription(hub, { name: `bench e2e ten ${j}`, url: `${receiver.url}/ten/${j}`, systemIds: ['sys-ten'] });

      // warm-up (not measured): both fan-outs through the service; their rates size the measured batches
      // so that each takes about targetSeconds here (a fixed size would take minutes on a busy machine)
      const warm1 = await serviceBatch(hub, cpu, 'e2ewarm1', 40, 1, ['sys-one'], 60_000);
      const warm10 = await serviceBatch(hub, cpu, 'e2ewarm10', 5, 10, ['sys-ten'], 60_000);
      await drain(hub, 30_000);
      const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(x)));
      const sizes = {
        one: clamp(warm1.perSecond * targetSeconds, opts.quick ? 30 : 100, opts.quick ? 300 : 5_000),
        ten: clamp((warm10.perSecond * targetSeconds) / 10, opts.quick ? 5 : 10, opts.quick ? 40 : 500),
      };
      opts.log(`e2e: warm-up rates ${warm1.perSecond}/s (1 sub), ${warm10.perSecond}/s (10 subs) -> batches of ${sizes.one} and ${sizes.ten} events`);

      const service: Record<string, BatchResult> = {};
      opts.log(`e2e: service, ${sizes.one} events x 1 subscription`);
      service.one = await serviceBatch(hub, cpu, 'e2e1', sizes.one, 1, ['sys-one'], timeoutMs);
      opts.log(`e2e: service 1 sub -> ${service.one.perSecond} deliveries/s (${service.one.completed}/${service.one.deliveries} in ${service.one.seconds} s)`);
      await drain(hub, 30_000);
      opts.log(`e2e: service, ${sizes.ten} events x 10 subscriptions`);
      service.ten = await serviceBatch(hub, cpu, 'e2e10', sizes.ten, 10, ['sys-ten'], timeoutMs);
      opts.log(`e2e: service 10 subs -> ${service.ten.perSecond} deliveries/s (${service.ten.completed}/${service.ten.deliveries} in ${service.ten.seconds} s)`);
      await drain(hub, 30_000);
      const memory = { apiPeakRssBytes: hub.stack.api.samplePeakRss(), workerPeakRssBytes: hub.stack.worker.samplePeakRss() };

      // as many bare workers as the service has workers (two on the cluster)
      bws = await Promise.all(Array.from({ length: hub.workerCount }, () => startBaselineWorker(hub, BASELINE_QUEUE)));
      const client = await hub.stack.temporalClient();
      const baseline: Record<string, BatchResult> = {};
      try {
        await baselineBatch(client, bws, cpu, 'blwarm1', 40, 1, 60_000);
        await baselineBatch(client, bws, cpu, 'blwarm10', 5, 10, 60_000);
        opts.log('e2e: baseline, bare workflows');
        baseline.one = await baselineBatch(client, bws, cpu, 'bl1', sizes.one, 1, timeoutMs);
        baseline.ten = await baselineBatch(client, bws, cpu, 'bl10', sizes.ten, 10, timeoutMs);
        // what merging three activities per delivery into one bought on this server (the first workflow's shape)
        baseline.oneWithThreeActivities = await baselineBatch(client, bws, cpu, 'bl1three', sizes.one, 1, timeoutMs, 3);
        opts.log(
          `e2e: baseline -> 1 sub ${baseline.one.perSecond}/s, 10 subs ${baseline.ten.perSecond}/s; ` +
            `3 activities instead of 1: ${baseline.oneWithThreeActivities.perSecond}/s`,
        );
      } finally {
        await Promise.all(bws.map((b) => b.stop()));
      }
      const baselineWorkerPeakRssBytes = Math.max(...bws.map((b) => b.samplePeakRss()));

      const rows: Row[] = [];
      for (const [key, label] of [['one', '1 sub/event'], ['ten', '10 subs/event']] as const) {
        const s = service[key];
        const b = baseline[key];
        const r = ratio(s.perSecond, b.perSecond);
        rows.push({
          scenario: `3 end-to-end, ${label}`,
          metric: 'deliveries/s',
          value: s.perSecond,
          unit: '/s',
          baseline: b.perSecond,
          ratio: r,
          target: '>= 0.70 x baseline',
          pass: r !== undefined && r >= 0.7 && s.failedOrLost === 0,
          note: `${s.completed}/${s.deliveries} success in ${s.seconds} s${s.timedOut ? ' (TIMED OUT)' : ''}; baseline ${b.completed} in ${b.seconds} s`,
        });
        rows.push({
          scenario: `3 end-to-end, ${label}`,
          metric: 'CPU per delivery',
          value: s.cpuMsPerDelivery,
          unit: 'ms',
          baseline: b.cpuMsPerDelivery,
          ratio: ratio(s.cpuMsPerDelivery, b.cpuMsPerDelivery),
          note: Object.entries(s.cpu.cpuSeconds)
            .sort((x, y) => y[1] - x[1])
            .map(([k, v]) => `${k} ${v}s`)
            .join(', '),
        });
      }
      rows.push({
        scenario: '3 end-to-end, 1 sub/event',
        metric: 'bare, 3 activities not 1',
        value: baseline.oneWithThreeActivities.perSecond,
        unit: '/s',
        baseline: baseline.one.perSecond,
        ratio: ratio(baseline.oneWithThreeActivities.perSecond, baseline.one.perSecond),
        note: 'the first workflow shape (plan, attempt, record) on the bare engine: what the merge into one activity buys',
      });
      const mb = (b: number) => round(b / MB, 1);
      rows.push({ scenario: '7 memory (during 3)', metric: 'API peak RSS', value: mb(memory.apiPeakRssBytes), unit: 'MB' });
      rows.push({
        scenario: '7 memory (during 3)',
        metric: 'worker peak RSS',
        value: mb(memory.workerPeakRssBytes),
        unit: 'MB',
        baseline: mb(baselineWorkerPeakRssBytes),
        ratio: ratio(memory.workerPeakRssBytes, baselineWorkerPeakRssBytes),
        note: 'baseline: the bare worker after the same batches',
      });
      return {
        rows,
        details: {
          concurrency: CONCURRENCY,
          batchEvents: sizes,
          sizedFrom: { warm1: warm1.perSecond, warm10: warm10.perSecond, targetSeconds },
          completedMeans: 'service: delivery status success in PostgreSQL (time = max(updated_at)); baseline: third no-op activity finished',
          service,
          baseline,
          memory: { ...memory, baselineWorkerPeakRssBytes },
          receiver: { requests: receiver.total },
        },
      };
    } finally {
      await Promise.all(bws.map((b) => b.stop()));
      await receiver.stop();
      await hub.stop();
    }
  },
};
