// Scenario 2: time from the ingest request to the receiver seeing the delivery, at a steady 50 events/s
// (the rate) and at 20 events/s (below what a 2-core machine's dev server sustains, so the figure
// is the pipeline's latency rather than queueing). Baseline: a bare workflow started from a client at the
// same rate, to the start of its first activity (the Temporal floor of "start a workflow and run its first
// activity" on this server).
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { openLoop } from '../lib/http';
import { createSubscription, drain, postIngest, startBaselineWorker, startHub, waitUntil, type Hub } from '../lib/hub';
import { CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, summarise } from '../lib/stats';

const RATES = [50, 20];
const BASELINE_QUEUE = 'bench-baseline-latency';

export const latencyScenario: Scenario = {
  name: 'latency',
  title: `Event to first attempt at a steady ${RATES.join(' and ')} events/s`,
  async run(opts: BenchOptions) {
    const hub = await startHub(opts);
    const receiver = await new BenchReceiver().start();
    try {
      await createSubscription(hub, { name: 'bench latency', url: `${receiver.url}/hook` });
      const rows: Row[] = [];
      const details: Record<string, unknown> = {};
      const rates = opts.latencyRates ?? RATES;
      for (const rate of opts.quick ? rates.slice(0, 1) : rates) {
        const r = await measureAt(opts, hub, receiver, rate);
        rows.push(...r.rows);
        details[`at${rate}`] = r.details;
      }
      return { rows, details };
    } finally {
      await receiver.stop();
      await hub.stop();
    }
  },
};

async function measureAt(opts: BenchOptions, hub: Hub, receiver: BenchReceiver, RATE: number): Promise<{ rows: Row[]; details: Record<string, unknown> }> {
  const durationMs = opts.quick ? 5_000 : 20_000;
  const cpu = new CpuMeter(() => ({ api: hub.stack.api.child?.pid, worker: hub.stack.worker.child?.pid }));
  const tag = `r${RATE}`;
  await openLoop({ ratePerSecond: RATE, durationMs: opts.quick ? 1_000 : 3_000, send: (i) => postIngest(hub, `latwarm-${tag}-${i}`) });
  await drain(hub, 20_000);
  receiver.reset();

  cpu.start();
  const run = await openLoop({ ratePerSecond: RATE, durationMs, send: (i) => postIngest(hub, `lat-${tag}-${i}`) });
  const accepted = run.results
    .filter((r) => r.status === 202)
    .map((r) => ({ sentAt: r.sentAt, repliedAt: r.endedAt, id: (JSON.parse(r.body) as { deliveries: { id: string }[] }).deliveries[0]?.id }))
    .filter((a) => a.id !== undefined);
  await waitUntil(() => accepted.every((a) => receiver.firstSeen.has(a.id)), 30_000, 100);
  const serviceCpu = cpu.stop();
  const seen = accepted.filter((a) => receiver.firstSeen.has(a.id));
  const firstAttempt = summarise(seen.map((a) => receiver.firstSeen.get(a.id)! - a.sentAt));
  const ingestReply = summarise(accepted.map((a) => a.repliedAt - a.sentAt));
  const seenBeforeReply = seen.filter((a) => receiver.firstSeen.get(a.id)! < a.repliedAt).length;
  opts.log(`latency ${RATE}/s: service first attempt p50 ${firstAttempt.p50} ms p99 ${firstAttempt.p99} ms (${seen.length}/${run.results.length} seen)`);

  // baseline: bare workflow start -> first activity, same rate, same server, the service's worker settings;
  // after the service's backlog is gone, so the two do not share the Temporal server
  const backlog = await drain(hub, opts.quick ? 20_000 : 60_000);
  const bw = await startBaselineWorker(hub, `${BASELINE_QUEUE}-${tag}`);
  const client = await hub.stack.temporalClient();
  const startBare = async (id: string) => {
    const wallSentAt = Date.now();
    try {
      await client.workflow.start('baselineWorkflow', { taskQueue: `${BASELINE_QUEUE}-${tag}`, workflowId: id, args: [{ id }] });
      return { id, wallSentAt, ok: true };
    } catch (err) {
      return { id, wallSentAt, ok: false, error: (err as Error).message };
    }
  };
  let baseline: ReturnType<typeof summarise>;
  let baselineMissing = 0;
  try {
    await openLoop({ ratePerSecond: RATE, durationMs: opts.quick ? 1_000 : 3_000, send: (i) => startBare(`bl-latwarm-${tag}-${i}`) });
    await waitUntil(async () => (await bw.ask('stats', { prefix: `bl-latwarm-${tag}-` })).completed >= Math.round(RATE * (opts.quick ? 1 : 3)), 20_000, 200);
    const bRun = await openLoop({ ratePerSecond: RATE, durationMs, send: (i) => startBare(`bl-lat-${tag}-${i}`) });
    const started = bRun.results.filter((r) => r.ok);
    await waitUntil(async () => (await bw.ask('stats', { prefix: `bl-lat-${tag}-` })).completed >= started.length, 30_000, 200);
    const st = await bw.ask<{ firstActivityAt: Record<string, number> }>('stats', { prefix: `bl-lat-${tag}-`, times: true });
    const times = started.filter((r) => st.firstActivityAt[r.id] !== undefined).map((r) => st.firstActivityAt[r.id] - r.wallSentAt);
    baselineMissing = bRun.results.length - times.length;
    baseline = summarise(times);
  } finally {
    await bw.stop();
  }
  opts.log(`latency ${RATE}/s: baseline start -> first activity p50 ${baseline.p50} ms p99 ${baseline.p99} ms`);

  const sc = `2 event -> first attempt @${RATE}/s`;
  const rows: Row[] = [
    {
      scenario: sc,
      metric: 'first attempt p50',
      value: firstAttempt.p50,
      unit: 'ms',
      baseline: baseline.p50,
      ratio: ratio(firstAttempt.p50, baseline.p50),
      target: '< 100 ms',
      pass: firstAttempt.p50 < 100,
      note:
        `baseline: bare workflow start -> first activity` +
        (accepted.length > seen.length ? `; only ${seen.length}/${accepted.length} delivered 30 s after the last send: the pipeline did not keep up with ${RATE}/s, so this is queueing` : ''),
    },
    { scenario: sc, metric: 'first attempt p99', value: firstAttempt.p99, unit: 'ms', baseline: baseline.p99, ratio: ratio(firstAttempt.p99, baseline.p99) },
    {
      scenario: sc,
      metric: 'ingest reply p50 / p99',
      value: `${ingestReply.p50} / ${ingestReply.p99}`,
      unit: 'ms',
      note: `${seenBeforeReply} of ${seen.length} reached the receiver before the 202; not seen: ${accepted.length - seen.length}; errors: ${run.results.length - accepted.length}`,
    },
  ];
  return {
    rows,
    details: {
      ratePerSecond: RATE,
      durationMs,
      measuredFrom: 'the moment the ingest request was written to the socket, to the receiver seeing the request headers',
      firstAttemptMs: firstAttempt,
      ingestReplyMs: ingestReply,
      seenBeforeReply,
      sent: run.results.length,
      accepted: accepted.length,
      notSeen: accepted.length - seen.length,
      baselineStartToFirstActivityMs: baseline,
      baselineMissing,
      cpu: serviceCpu,
      serviceBacklogBeforeBaseline: backlog,
    },
  };
}
