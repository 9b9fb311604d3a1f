// Scenario 1: ingest under open-loop load (50..400 events/s), one matching webhook subscription,
// against a bare Express + pg handler measured in the same run.
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { HttpClient, openLoop, type ScheduledResult } from '../lib/http';
import { createSubscription, deliveryCounts, drain, ingestBody, postIngest, startBaselineIngest, startHub } from '../lib/hub';
import { CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round, summarise } from '../lib/stats';

const DEFAULT_RATES = [50, 100, 200, 400];

/** What one load step measured. Latencies in ms from the due time; rates per second. */
export interface StepResult {
  offeredPerSecond: number;
  sent: number;
  accepted: number;
  acceptedPerSecond: number;
  errors: number;
  errorSamples: string[];
  latencyMs: ReturnType<typeof summarise>;
  /** From the moment the request really went out (without generator lag). */
  serviceLatencyMs: ReturnType<typeof summarise>;
  /** How late the generator sent requests (ms); large values mean the load generator was starved. */
  sendLagMs: ReturnType<typeof summarise>;
  cpu: ReturnType<CpuMeter['stop']>;
}

/** Summarises one open-loop step. Accepted/s counts 2xx answers over first-due to last-answer. */
export function summariseStep(rate: number, run: { results: ScheduledResult[]; startedAt: number }, cpu: StepResult['cpu']): StepResult {
  const ok = run.results.filter((r) => r.status >= 200 && r.status < 300);
  const bad = run.results.filter((r) => !(r.status >= 200 && r.status < 300));
  const lastEnd = Math.max(...run.results.map((r) => r.endedAt));
  const windowS = (lastEnd - run.startedAt) / 1000;
  const samples = new Map<string, number>();
  for (const r of bad) {
    const key = r.error ?? `HTTP ${r.status}`;
    samples.set(key, (samples.get(key) ?? 0) + 1);
  }
  return {
    offeredPerSecond: rate,
    sent: run.results.length,
    accepted: ok.length,
    acceptedPerSecond: round(ok.length / windowS, 1),
    errors: bad.length,
    errorSamples: [...samples].map(([k, n]) => `${n}x ${k}`).slice(0, 5),
    latencyMs: summarise(run.results.map((r) => r.endedAt - r.dueAt)),
    serviceLatencyMs: summarise(run.results.map((r) => r.endedAt - r.sentAt)),
    sendLagMs: summarise(run.results.map((r) => r.sentAt - r.dueAt)),
    cpu,
  };
}

export const ingestScenario: Scenario = {
  name: 'ingest',
  title: 'Ingest: open-loop 50/100/200/400 events/s, 1 webhook subscription',
  async run(opts: BenchOptions) {
    const rates = opts.ingestRates ?? DEFAULT_RATES;
    const stepMs = opts.quick ? 3_000 : 10_000;
    const drainMs = opts.quick ? 10_000 : 30_000;
    const hub = await startHub(opts);
    const receiver = await new BenchReceiver().start();
    const base = await startBaselineIngest(hub);
    const baseHttp = new HttpClient(base.url, { maxSockets: 512 });
    let baselinePeakRssBytes = 0;
    const cpu = new CpuMeter(() => ({ api: hub.stack.api.child?.pid, worker: hub.stack.worker.child?.pid, 'baseline-ingest': base.child.pid }));
    try {
      await createSubscription(hub, { name: 'bench ingest', url: `${receiver.url}/hook` });
      const sendService = (tag: string) => (i: number) => postIngest(hub, `ing-${tag}-${i}`);
      const sendBaseline = (tag: string) => (i: number) => baseHttp.request('POST', '/ingest', { body: ingestBody(`bl-${tag}-${i}`) });

      const warm = opts.quick ? 1_000 : 3_000;
      // the baseline first, every rate, while the stack is idle: afterwards the service's worker may still be
      // delivering a backlog (on a small machine it cannot drain 400 events/s), which would slow the baseline
      await openLoop({ ratePerSecond: 50, durationMs: warm, send: sendBaseline('warm') });
      const baselines = new Map<number, StepResult>();
      for (const rate of rates) {
        cpu.start();
        const run = await openLoop({ ratePerSecond: rate, durationMs: stepMs, send: sendBaseline(String(rate)) });
        baselines.set(rate, summariseStep(rate, run, cpu.stop()));
        opts.log(`ingest: baseline ${rate}/s -> ${baselines.get(rate)!.acceptedPerSecond}/s p99 ${baselines.get(rate)!.latencyMs.p99} ms`);
      }
      baselinePeakRssBytes = base.child.samplePeakRss();
      await base.child.stop();

      // warm-up: JIT, connection pools, Temporal's first workflows; not measured
      await openLoop({ ratePerSecond: 50, durationMs: warm, send: sendService('warm') });
      const steps: { rate: number; service: StepResult; baseline: StepResult; backlogBefore: { ms: number; open: number } }[] = [];
      for (const rate of rates) {
        // the worker delivers what the previous step accepted: let it finish (bounded) before the next step
        const backlogBefore = await drain(hub, drainMs);
        opts.log(`ingest: ${rate}/s service (backlog drained in ${backlogBefore.ms} ms, ${backlogBefore.open} left)`);
        cpu.start();
        const svcRun = await openLoop({ ratePerSecond: rate, durationMs: stepMs, send: sendService(String(rate)) });
        const service = summariseStep(rate, svcRun, cpu.stop());
        steps.push({ rate, service, baseline: baselines.get(rate)!, backlogBefore });
        opts.log(`ingest: ${rate}/s -> service ${service.acceptedPerSecond}/s p99 ${service.latencyMs.p99} ms`);
      }
      const openAtEnd = (await deliveryCounts(hub)).open;

      const rows: Row[] = [];
      for (const { rate, service: s, baseline: b, backlogBefore } of steps) {
        const sc = `1 ingest @${rate}/s`;
        rows.push({ scenario: sc, metric: 'accepted/s', value: s.acceptedPerSecond, unit: '/s', baseline: b.acceptedPerSecond, ratio: ratio(s.acceptedPerSecond, b.acceptedPerSecond) });
        rows.push({ scenario: sc, metric: 'latency p50', value: s.latencyMs.p50, unit: 'ms', baseline: b.latencyMs.p50, ratio: ratio(s.latencyMs.p50, b.latencyMs.p50) });
        rows.push({ scenario: sc, metric: 'latency p95', value: s.latencyMs.p95, unit: 'ms', baseline: b.latencyMs.p95, ratio: ratio(s.latencyMs.p95, b.latencyMs.p95) });
        rows.push({
          scenario: sc,
          metric: 'latency p99',
          value: s.latencyMs.p99,
          unit: 'ms',
          baseline: b.latencyMs.p99,
          ratio: ratio(s.latencyMs.p99, b.latencyMs.p99),
          ...(rate === 100 ? { target: '< 50 ms', pass: s.latencyMs.p99 < 50 } : {}),
        });
        rows.push({
          scenario: sc,
          metric: 'errors',
          value: s.errors,
          unit: `of ${s.sent}`,
          baseline: b.errors,
          note: [
            `CPU s: service ${s.cpu.totalCpuSeconds}, baseline ${b.cpu.totalCpuSeconds}`,
            `send lag p99 ${s.sendLagMs.p99} ms`,
            ...(backlogBefore.open > 0 ? [`${backlogBefore.open} deliveries of earlier steps still open at the start`] : []),
            ...s.errorSamples,
          ].join('; '),
        });
      }
      return {
        rows,
        details: {
          stepMs,
          rates,
          subscriptions: 1,
          latencyFrom: 'due time of the open-loop schedule to the end of the response',
          steps,
          deliveriesStillOpenAtEnd: openAtEnd,
          receiver: { requests: receiver.total },
          baselineIngestPeakRssBytes: baselinePeakRssBytes,
          order: 'baseline steps first on the idle stack, then the service steps, each after the backlog drained (bounded)',
        },
      };
    } finally {
      baseHttp.close();
      await base.child.stop();
      await receiver.stop();
      await hub.stop();
    }
  },
};
