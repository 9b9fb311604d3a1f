// Scenario 8: retention. A million old delivery rows (the log scenario's seed, 40-70 days old, with one
// attempt row per attempted delivery) are purged by the retention workflow, as the daily schedule runs it,
// while ingest runs open-loop at a steady rate; ingest latency during the purge against the same rate
// without it, in the same run on the same stack (before the purge, and again after it).
import { performance } from 'node:perf_hooks';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { openLoop, type HttpResult, type ScheduledResult } from '../lib/http';
import { createSubscription, drain, postIngest, startHub, type Hub } from '../lib/hub';
import { CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round, summarise } from '../lib/stats';
import { summariseStep, type StepResult } from './ingest';
import { seed } from './log';

const DAY_MS = 86_400_000;
/** Under what this 2-core machine delivers steadily (see the latency scenario), so ingest is measured, not a backlog. */
const DEFAULT_RATE = 20;
const WINDOW_MS = 5_000;

/** Open-loop ingest in consecutive windows until `until()` says stop (at least `minMs`); one summary over all of them. */
async function ingestWhile(
  hub: Hub,
  rate: number,
  tag: string,
  minMs: number,
  until: () => boolean,
  cpu: CpuMeter,
): Promise<{ step: StepResult; raw: ScheduledResult<HttpResult>[] }> {
  const results: ScheduledResult<HttpResult>[] = [];
  const t0 = performance.now();
  let startedAt: number | undefined;
  cpu.start();
  for (let w = 0; performance.now() - t0 < minMs || !until(); w++) {
    const run = await openLoop({ ratePerSecond: rate, durationMs: WINDOW_MS, send: (i) => postIngest(hub, `ret-${tag}-${w}-${i}`) });
    startedAt ??= run.startedAt;
    results.push(...run.results);
  }
  return { step: summariseStep(rate, { results, startedAt: startedAt ?? t0 }, cpu.stop()), raw: results };
}

export const retentionScenario: Scenario = {
  name: 'retention',
  title: 'Retention: ingest p99 at a steady rate while 1M old rows are purged, against the same rate without it',
  async run(opts: BenchOptions) {
    const rows = opts.quick ? 100_000 : 1_000_000;
    const rate = opts.ingestRates?.[0] ?? DEFAULT_RATE;
    const quietMs = opts.quick ? 10_000 : 40_000;
    // the schedule stays off: the purge starts when the scenario says so
    const hub = await startHub(opts, { RETENTION_SCHEDULE: 'off', RETENTION_DAYS: '30' });
    const receiver = await new BenchReceiver().start();
    const cpu = new CpuMeter(() => ({ api: hub.stack.api.child?.pid, worker: hub.stack.worker.child?.pid }));
    try {
      const seedSeconds = await seed(hub, rows, opts.log, new Date(Date.now() - 40 * DAY_MS));
      const t = performance.now();
      await hub.db.query(`SET session_replication_role = replica`);
      await hub.db.query(
        `INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, trigger)
         SELECT id, 1, created_at, 80, CASE status WHEN 'success' THEN 'success' ELSE 'retryable' END, 'scheduled'
           FROM deliveries WHERE status <> 'pending'`,
      );
      await hub.db.query(`SET session_replication_role = origin`);
      await hub.db.query(`VACUUM (ANALYZE) delivery_attempts`);
      seedSeconds.attempts = round((performance.now() - t) / 1000, 2);
      const seeded = (await hub.db.query(
        `SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM delivery_attempts)::int AS attempts,
                (SELECT count(*) FROM emissions)::int AS emissions,
                (SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying'))::int AS in_flight`,
      )).rows[0];
      opts.log(`retention: seeded ${JSON.stringify(seeded)} (${JSON.stringify(seedSeconds)} s)`);

      await createSubscription(hub, { name: 'bench retention', url: `${receiver.url}/hook` });
      await openLoop({ ratePerSecond: rate, durationMs: opts.quick ? 2_000 : 5_000, send: (i) => postIngest(hub, `ret-warm-${i}`) });
      await drain(hub, 30_000);

      const before = await ingestWhile(hub, rate, 'before', quietMs, () => true, cpu);
      opts.log(`retention: ingest ${rate}/s before the purge -> p99 ${before.step.latencyMs.p99} ms`);

      const client = await hub.stack.temporalClient();
      const purgeStart = performance.now();
      let purgeMs: number | undefined;
      const purge = client.workflow
        .execute('retentionWorkflow', { workflowId: `bench-retention-${Date.now()}`, taskQueue: 'integrations-hub', args: [{}] })
        .then((totals) => {
          purgeMs = performance.now() - purgeStart;
          return totals as Record<string, number>;
        });
      purge.catch(() => undefined);
      const during = (await ingestWhile(hub, rate, 'during', 0, () => purgeMs !== undefined, cpu)).step;
      const totals = await purge;
      opts.log(`retention: ingest ${rate}/s during purge (${round(purgeMs! / 1000)} s, ${JSON.stringify(totals)}) -> p99 ${during.latencyMs.p99} ms`);

      const after = await ingestWhile(hub, rate, 'after', quietMs, () => true, cpu);
      opts.log(`retention: ingest ${rate}/s after the purge -> p99 ${after.step.latencyMs.p99} ms`);
      const left = (await hub.db.query(
        `SELECT (SELECT count(*) FROM deliveries WHERE created_at < now() - interval '30 days')::int AS old_deliveries,
                (SELECT count(*) FROM deliveries WHERE created_at < now() - interval '30 days' AND status IN ('pending', 'retrying'))::int AS old_in_flight,
                (SELECT count(*) FROM delivery_attempts)::int AS attempts`,
      )).rows[0];

      // the baseline pools the windows before and after the purge: both without it, on either side of it in time,
      // so a drift of the machine's load (other work on a shared VM) weighs on both sides alike
      const without = { latencyMs: summarise([...before.raw, ...after.raw].map((r) => r.endedAt - r.dueAt)) };
      const deletedRows = (totals.deliveries ?? 0) + (totals.emissions ?? 0);
      const p99Ratio = ratio(during.latencyMs.p99, without.latencyMs.p99);
      const sc = `8 retention @${rate}/s`;
      const out: Row[] = [
        { scenario: sc, metric: 'purged', value: totals.deliveries, unit: 'deliveries', note: `${totals.emissions} emissions; in ${round(purgeMs! / 1000)} s (${round(deletedRows / (purgeMs! / 1000), 0)} rows/s); old in-flight kept: ${left.old_in_flight} of ${left.old_deliveries} old rows left` },
        { scenario: sc, metric: 'ingest p50 during / without', value: during.latencyMs.p50, unit: 'ms', baseline: without.latencyMs.p50, ratio: ratio(during.latencyMs.p50, without.latencyMs.p50) },
        {
          scenario: sc,
          metric: 'ingest p99 during / without',
          value: during.latencyMs.p99,
          unit: 'ms',
          baseline: without.latencyMs.p99,
          ratio: p99Ratio,
          target: '<= 1.2x',
          pass: p99Ratio !== undefined && p99Ratio <= 1.2,
          note: `without = before + after the purge (p99 ${before.step.latencyMs.p99} / ${after.step.latencyMs.p99} ms); errors ${before.step.errors}/${during.errors}/${after.step.errors}; CPU s API+worker before/during/after ${before.step.cpu.totalCpuSeconds}/${during.cpu.totalCpuSeconds}/${after.step.cpu.totalCpuSeconds}`,
        },
      ];
      return {
        rows: out,
        details: { rate, rowsSeeded: seeded, seedSeconds, totals, purgeSeconds: round(purgeMs! / 1000, 1), left, without, before: before.step, during, after: after.step },
      };
    } finally {
      await receiver.stop();
      await hub.stop();
    }
  },
};
