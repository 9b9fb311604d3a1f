// Scenario 4: one event matching 100 subscriptions: time until all 100 are delivered (receiver) and
// `success` in the log. Baseline: 100 bare workflows started at once (as the API starts them) until all
// have finished their no-op activity (the service's one activity per delivery).
import { performance } from 'node:perf_hooks';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { createSubscription, deliveryCounts, drain, postIngest, startBaselineWorker, startHub, waitUntil } from '../lib/hub';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round, sleep, summarise } from '../lib/stats';

const FAN_OUT = 100;
const BASELINE_QUEUE = 'bench-baseline-fanout';

export const fanoutScenario: Scenario = {
  name: 'fanout',
  title: 'Fan-out: one event to 100 subscriptions',
  async run(opts: BenchOptions) {
    const rounds = opts.quick ? 2 : 5;
    const timeoutMs = opts.quick ? 90_000 : 120_000;
    const hub = await startHub(opts);
    const receiver = await new BenchReceiver().start();
    try {
      for (let j = 0; j < FAN_OUT; j++) await createSubscription(hub, { name: `bench fanout ${j}`, url: `${receiver.url}/fan/${j}` });

      const measured: { ingestMs: number; allReceivedMs: number; allSuccessMs: number; delivered: number }[] = [];
      for (let r = -1; r < rounds; r++) {
        // round -1 warms up and is not kept
        receiver.reset();
        const prefix = `fan${r < 0 ? 'warm' : r}`;
        const t0 = performance.now();
        const t0Wall = Date.now();
        const res = await postIngest(hub, `${prefix}-event`);
        if (res.status !== 202) throw new Error(`fan-out ingest: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        const ids = (JSON.parse(res.body) as { deliveries: { id: string }[] }).deliveries.map((d) => d.id);
        let counts = await deliveryCounts(hub, `${prefix}-`);
        await waitUntil(
          async () => ids.every((id) => receiver.firstSeen.has(id)) && (counts = await deliveryCounts(hub, `${prefix}-`)).success >= ids.length,
          timeoutMs,
          25,
        );
        const delivered = counts.success;
        const allReceivedMs = ids.every((id) => receiver.firstSeen.has(id)) ? Math.max(...ids.map((id) => receiver.firstSeen.get(id)!)) - t0 : NaN;
        const allSuccessMs = delivered >= ids.length && counts.lastSuccessAtMs ? counts.lastSuccessAtMs - t0Wall : NaN;
        if (r >= 0) measured.push({ ingestMs: round(res.endedAt - res.sentAt), allReceivedMs: round(allReceivedMs), allSuccessMs: round(allSuccessMs), delivered });
        opts.log(`fanout: round ${r}: ${ids.length} deliveries, all received after ${round(allReceivedMs)} ms, all success after ${round(allSuccessMs)} ms`);
        await drain(hub, 10_000);
        await sleep(500);
      }

      const bw = await startBaselineWorker(hub, BASELINE_QUEUE);
      const baselineMs: number[] = [];
      try {
        const client = await hub.stack.temporalClient();
        for (let r = -1; r < rounds; r++) {
          const t0 = Date.now();
          await Promise.all(
            Array.from({ length: FAN_OUT }, (_, j) => {
              const id = `blfan${r}-${j}`;
              return client.workflow.start('baselineWorkflow', { taskQueue: BASELINE_QUEUE, workflowId: id, args: [{ id }] });
            }),
          );
          let st = { completed: 0, lastCompletedAt: 0 };
          await waitUntil(async () => (st = await bw.ask('stats', { prefix: `blfan${r}-` })).completed >= FAN_OUT, timeoutMs, 25);
          if (r >= 0) baselineMs.push(st.completed >= FAN_OUT ? st.lastCompletedAt - t0 : NaN);
          await sleep(500);
        }
      } finally {
        await bw.stop();
      }

      const received = summarise(measured.map((m) => m.allReceivedMs));
      const success = summarise(measured.map((m) => m.allSuccessMs));
      const ingest = summarise(measured.map((m) => m.ingestMs));
      const base = summarise(baselineMs);
      const sc = '4 fan-out 1 event -> 100 subs';
      const rows: Row[] = [
        {
          scenario: sc,
          metric: 'all 100 received (median)',
          value: received.p50,
          unit: 'ms',
          note: `max ${received.max} ms over ${rounds} rounds${received.count < rounds ? `; ${rounds - received.count} rounds incomplete after ${timeoutMs / 1000} s` : ''}`,
        },
        {
          scenario: sc,
          metric: 'all 100 success (median)',
          value: success.p50,
          unit: 'ms',
          baseline: base.p50,
          ratio: ratio(success.p50, base.p50),
          note: `max ${success.max} ms; baseline: 100 bare workflows, max ${base.max} ms`,
        },
        { scenario: sc, metric: 'ingest reply (median)', value: ingest.p50, unit: 'ms', note: `stores 100 deliveries and starts 100 workflows; max ${ingest.max} ms` },
      ];
      return { rows, details: { fanOut: FAN_OUT, rounds: measured, allReceivedMs: received, allSuccessMs: success, ingestReplyMs: ingest, baselineAllCompletedMs: base, baselineRoundsMs: baselineMs } };
    } finally {
      await receiver.stop();
      await hub.stop();
    }
  },
};
