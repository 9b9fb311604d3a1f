// Issue 22: the hub against the bare floor of its own engine, alternating in one run on this machine.
// The floor is a one-activity Temporal workflow (bench/baseline-workflow.ts floorWorkflow) started by a bare
// node:http process (bench/baseline-starter.ts) whose activity POSTs to the same receiver, on the same kind of
// stack (a fresh one per system run: PostgreSQL idle for the floor, Temporal dev server or the cluster).
// Phases per system: open-loop 20/50/100 events/s, saturation (a closed loop of ingests), and 20 events/s to
// a receiver failing 20 % (503, at most 3 in a row per delivery). Per phase: deliveries/s, CPU per delivery
// summed over every process of the system (split by process: temporal, postgres, api/starter, worker),
// event-to-receiver p50/p99, ingest p50/p99, lost and duplicates, the hub's workflow start failures.
import { performance } from 'node:perf_hooks';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { closedLoop, HttpClient, openLoop, type HttpResult } from '../lib/http';
import { createSubscription, postIngest, startHub, waitUntil, type Hub } from '../lib/hub';
import { BenchChild, CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { freePort } from '../../test/support/ports';
import { ratio, round, summarise, type LatencySummary } from '../lib/stats';

const FLOOR_QUEUE = 'bench-floor';
/** The hub's retry schedule in the failing phase (the floor's server-side retry policy is about the same). */
const SCHEDULE_MS = [100, 200, 400, 800, 1600, 3200, 5000];
const FAIL = { failRatio: 0.2, maxFailsInARow: 3 };

interface PhaseSpec {
  name: string;
  /** Open-loop rate (events/s); absent: saturation, a closed loop of `count` ingests. */
  rate?: number;
  count?: number;
  path: '/hook' | '/fail';
}

export interface PhaseResult {
  phase: string;
  sent: number;
  accepted: number;
  ingestErrors: number;
  /** A few of the non-202 answers (status and body or transport error). */
  errorSamples: string[];
  delivered: number;
  lost: number;
  duplicates: number;
  /** Deliveries (first 200 at the receiver) per second, from the first send to the last delivery. */
  perSecond: number;
  e2eMs: LatencySummary;
  ingestMs: LatencySummary;
  /** Last delivery after the last send (the failing phase's drain). */
  lastAfterLastSendMs: number;
  /** CPU ms per delivery summed over the system's processes, and by process. */
  cpuMsPerDelivery: number;
  cpuMsPerDeliveryBy: Record<string, number>;
  cpu: ReturnType<CpuMeter['stop']>;
  /** Hub only: "workflow start failed" log lines during the phase (start deadline storms). */
  startFailures?: number;
  /** Hub only: the deliveries `success` in the log (must equal delivered). */
  logSuccess?: number;
  timedOut: boolean;
}

/** One system under load: the hub (this checkout or another one's dist) or the floor. */
interface System {
  name: string;
  send(id: string, path: PhaseSpec['path']): Promise<HttpResult>;
  /** Processes that belong to the system (their descendants too); temporal and postgres are added by name. */
  pids(): Record<string, number | undefined>;
  startFailures(): number;
  /** Resolves when every id is final in the system's own records (the hub's log); returns how many are `success`. */
  settled(ids: string[], timeoutMs: number): Promise<number | undefined>;
  stop(): Promise<void>;
}

export const compareScenario: Scenario = {
  name: 'compare',
  title: 'The hub against the bare one-activity Temporal floor (issue 22), alternating',
  async run(opts: BenchOptions) {
    const long = opts.long ?? false;
    const phaseMs = long ? 60_000 : opts.quick ? 4_000 : 10_000;
    const satCount = long ? 3_000 : opts.quick ? 200 : 600;
    const phases: PhaseSpec[] = [
      { name: '20 ev/s', rate: 20, path: '/hook' },
      { name: '50 ev/s', rate: 50, path: '/hook' },
      { name: '100 ev/s', rate: 100, path: '/hook' },
      { name: 'saturation', count: satCount, path: '/hook' },
      { name: '20 ev/s, 20 % failing', rate: 20, path: '/fail' },
    ];
    const variants = [{ name: 'hub' }, ...(opts.hubVariants ?? [])];
    const rounds = opts.rounds ?? (long ? 2 : 1);
    // hub(s), floor; the next round the other way round, so neither always runs on a warmer machine
    const order: string[] = [];
    for (let r = 0; r < rounds; r++) {
      const one = [...variants.map((v) => v.name), 'floor'];
      order.push(...(r % 2 === 0 ? one : one.reverse()));
    }
    const receiver = await new BenchReceiver().start();
    receiver.behaviours.set('/fail', FAIL);
    const runs: { system: string; phases: PhaseResult[] }[] = [];
    try {
      for (const [i, name] of order.entries()) {
        opts.log(`compare: ${name} (${i + 1}/${order.length})`);
        const v = variants.find((x) => x.name === name) as { root?: string; env?: Record<string, string> } | undefined;
        const sys = name === 'floor' ? await startFloor(opts, receiver) : await startHubSystem(opts, receiver, name, v?.root, v?.env);
        const out: PhaseResult[] = [];
        try {
          // warm-up, not measured: JIT, connection pools, the bundle's first workflows
          await runPhase(opts, sys, receiver, { name: 'warm-up', rate: 20, path: '/hook' }, 3_000, `${name}-r${i}-warm`);
          for (const ph of phases) {
            const r = await runPhase(opts, sys, receiver, ph, phaseMs, `${name}-r${i}-${ph.name.replace(/[^a-z0-9]+/gi, '')}`);
            opts.log(
              `compare: ${name} ${ph.name}: ${r.perSecond}/s, CPU ${r.cpuMsPerDelivery} ms/delivery, e2e p50/p99 ${r.e2eMs.p50}/${r.e2eMs.p99} ms, ` +
                `ingest p50/p99 ${r.ingestMs.p50}/${r.ingestMs.p99} ms, lost ${r.lost}, dup ${r.duplicates}` +
                (r.startFailures !== undefined ? `, start failures ${r.startFailures}` : ''),
            );
            out.push(r);
          }
        } finally {
          await sys.stop();
        }
        runs.push({ system: name, phases: out });
      }
    } finally {
      await receiver.stop();
    }
    return { rows: table(runs, variants.map((v) => v.name), phases), details: { phaseMs, saturationCount: satCount, order, runs, failing: FAIL, scheduleMs: SCHEDULE_MS } };
  },
};

async function startHubSystem(opts: BenchOptions, receiver: BenchReceiver, name: string, root?: string, env: Record<string, string> = {}): Promise<System> {
  const hub = await startHub(opts, env, { root });
  await createSubscription(hub, { name: 'bench compare', url: `${receiver.url}/hook`, systemIds: ['bench-ok'] });
  await createSubscription(hub, { name: 'bench compare failing', url: `${receiver.url}/fail`, systemIds: ['bench-flaky'], retryPolicy: { scheduleMs: SCHEDULE_MS } });
  // every "workflow start failed" line of the APIs (pino JSON on stdout, LOG_LEVEL=warn)
  let startFailures = 0;
  for (const [key, p] of Object.entries(hub.services)) {
    if (!key.startsWith('api')) continue;
    const count = (d: Buffer) => {
      startFailures += d.toString().split('workflow start failed').length - 1;
    };
    p.child?.stdout?.on('data', count);
    p.child?.stderr?.on('data', count);
  }
  return {
    name,
    send: (id, path) => postIngest(hub, id, [path === '/fail' ? 'bench-flaky' : 'bench-ok']),
    pids: () => Object.fromEntries(Object.entries(hub.services).map(([k, p]) => [k, p.child?.pid])),
    startFailures: () => startFailures,
    async settled(ids, timeoutMs) {
      let success = 0;
      await waitUntil(
        async () => {
          const r = await hub.db.query(`SELECT count(*) FILTER (WHERE status = 'success')::int AS s, count(*) FILTER (WHERE status IN ('pending', 'retrying'))::int AS o FROM deliveries WHERE id = ANY($1)`, [ids]);
          success = r.rows[0].s;
          return r.rows[0].o === 0;
        },
        timeoutMs,
        100,
      );
      return success;
    },
    stop: () => hub.stop(),
  };
}

async function startFloor(opts: BenchOptions, receiver: BenchReceiver): Promise<System> {
  // a stack of the same topology for its Temporal server (and an idle PostgreSQL); the hub's own processes stopped
  const hub: Hub = await startHub(opts);
  await Promise.all(Object.values(hub.services).map((p) => p.stop()));
  const env = { ...hub.stack.env(), BENCH_BASELINE_TASK_QUEUE: FLOOR_QUEUE, BENCH_RECEIVER_URL: receiver.url };
  const workers = await Promise.all(Array.from({ length: hub.workerCount }, async () => {
    const w = new BenchChild('baseline-worker.js');
    await w.start(env);
    return w;
  }));
  const port = await freePort();
  const starter = new BenchChild('baseline-starter.js');
  await starter.start({ ...env, PORT: String(port) });
  const http = new HttpClient(`http://127.0.0.1:${port}`, { maxSockets: 512 });
  return {
    name: 'floor',
    send: (id, path) => http.request('POST', '/ingest', { body: JSON.stringify({ id, path }) }),
    pids: () => ({ api: starter.pid, ...Object.fromEntries(workers.map((w, i) => [workers.length > 1 ? `worker${i}` : 'worker', w.pid])) }),
    startFailures: () => 0,
    settled: async () => undefined,
    async stop() {
      http.close();
      await Promise.all([starter.stop(), ...workers.map((w) => w.stop())]);
      await hub.stop();
    },
  };
}

async function runPhase(opts: BenchOptions, sys: System, receiver: BenchReceiver, ph: PhaseSpec, phaseMs: number, prefix: string): Promise<PhaseResult> {
  const failuresBefore = sys.startFailures();
  const cpu = new CpuMeter(sys.pids);
  cpu.start();
  const t0 = performance.now();
  type Sent = HttpResult & { dueAt: number };
  let results: Sent[];
  if (ph.rate) {
    results = (await openLoop({ ratePerSecond: ph.rate, durationMs: phaseMs, send: (i) => sys.send(`${prefix}-${i}`, ph.path) })).results;
  } else {
    results = await closedLoop(ph.count ?? 600, 32, async (i) => {
      const dueAt = performance.now();
      return { ...(await sys.send(`${prefix}-${i}`, ph.path)), dueAt };
    });
  }
  const lastDue = Math.max(...results.map((r) => r.dueAt));
  const accepted = results
    .filter((r) => r.status === 202)
    .map((r) => ({ dueAt: r.dueAt, endedAt: r.endedAt, id: (JSON.parse(r.body) as { deliveries: { id: string }[] }).deliveries[0]?.id }))
    .filter((a): a is { dueAt: number; endedAt: number; id: string } => a.id !== undefined);
  const deadlineMs = opts.long ? 600_000 : 240_000;
  const all = await waitUntil(() => accepted.every((a) => receiver.okAt.has(a.id)), deadlineMs, 100);
  const logSuccess = await sys.settled(accepted.map((a) => a.id), all ? 60_000 : 1_000);
  const cpuResult = cpu.stop();
  const delivered = accepted.filter((a) => receiver.okAt.has(a.id));
  const lastOk = Math.max(...delivered.map((a) => receiver.okAt.get(a.id)!));
  const duplicates = accepted.reduce((n, a) => n + Math.max(0, (receiver.okCount.get(a.id) ?? 0) - 1), 0);
  // the system's processes, Temporal and PostgreSQL; the benchmark process (load and receiver) apart
  const own = new Set([...Object.keys(sys.pids()), 'temporal', 'postgres']);
  const by: Record<string, number> = {};
  let systemCpu = 0;
  for (const [k, v] of Object.entries(cpuResult.cpuSeconds)) {
    if (!own.has(k)) continue;
    systemCpu += v;
    by[k] = delivered.length ? round((v * 1000) / delivered.length, 2) : NaN;
  }
  return {
    phase: ph.name,
    sent: results.length,
    accepted: accepted.length,
    ingestErrors: results.length - accepted.length,
    errorSamples: results
      .filter((r) => r.status !== 202)
      .slice(0, 5)
      .map((r) => `${r.status} ${r.error ?? r.body.slice(0, 200)}`),
    delivered: delivered.length,
    // accepted and never answered 200, or (the hub) not `success` in its log
    lost: accepted.length - delivered.length + (logSuccess !== undefined ? Math.max(0, delivered.length - logSuccess) : 0),
    duplicates,
    perSecond: delivered.length ? round(delivered.length / ((lastOk - t0) / 1000), 1) : 0,
    e2eMs: summarise(delivered.map((a) => receiver.firstSeen.get(a.id)! - a.dueAt)),
    ingestMs: summarise(results.map((r) => r.endedAt - r.dueAt)),
    lastAfterLastSendMs: delivered.length ? Math.round(lastOk - lastDue) : NaN,
    cpuMsPerDelivery: delivered.length ? round((systemCpu * 1000) / delivered.length, 1) : NaN,
    cpuMsPerDeliveryBy: by,
    cpu: cpuResult,
    startFailures: sys.name === 'floor' ? undefined : sys.startFailures() - failuresBefore,
    logSuccess,
    timedOut: !all,
  };
}

function mean(xs: number[]): number {
  const v = xs.filter(Number.isFinite);
  return v.length ? round(v.reduce((a, b) => a + b, 0) / v.length, 1) : NaN;
}

/** Rows: per phase and metric, each hub variant against the floor (means over rounds). */
function table(runs: { system: string; phases: PhaseResult[] }[], variants: string[], phases: PhaseSpec[]): Row[] {
  const of = (system: string, phase: string) => runs.filter((r) => r.system === system).map((r) => r.phases.find((p) => p.phase === phase)).filter((p): p is PhaseResult => !!p);
  const rows: Row[] = [];
  for (const ph of phases) {
    const floor = of('floor', ph.name);
    for (const v of variants) {
      const hub = of(v, ph.name);
      if (!hub.length) continue;
      const sc = `compare ${ph.name}${variants.length > 1 ? ` [${v}]` : ''}`;
      const m = (ps: PhaseResult[], f: (p: PhaseResult) => number) => mean(ps.map(f));
      const pair = (metric: string, unit: string, f: (p: PhaseResult) => number, extra: Partial<Row> = {}) => {
        const value = m(hub, f);
        const baseline = floor.length ? m(floor, f) : undefined;
        rows.push({ scenario: sc, metric, value, unit, baseline, ratio: ratio(value, baseline), ...extra });
      };
      const sat = ph.name === 'saturation';
      const dps = m(hub, (p) => p.perSecond);
      const floorDps = floor.length ? m(floor, (p) => p.perSecond) : undefined;
      pair('deliveries/s', '/s', (p) => p.perSecond, sat ? { target: '>= 1.0x floor', pass: floorDps !== undefined && dps >= floorDps } : {});
      const cpuHub = m(hub, (p) => p.cpuMsPerDelivery);
      const cpuFloor = floor.length ? m(floor, (p) => p.cpuMsPerDelivery) : undefined;
      const split = (ps: PhaseResult[]) =>
        Object.entries(ps[0]?.cpuMsPerDeliveryBy ?? {})
          .sort((a, b) => b[1] - a[1])
          .map(([k]) => `${k} ${mean(ps.map((p) => p.cpuMsPerDeliveryBy[k] ?? 0))}`)
          .join(', ');
      pair('CPU per delivery', 'ms', (p) => p.cpuMsPerDelivery, {
        ...(sat ? { target: '<= floor', pass: cpuFloor !== undefined && cpuHub <= cpuFloor } : {}),
        note: `hub: ${split(hub)}; floor: ${split(floor)}`,
      });
      const at20 = ph.name === '20 ev/s';
      const p50 = m(hub, (p) => p.e2eMs.p50);
      const p50Floor = floor.length ? m(floor, (p) => p.e2eMs.p50) : undefined;
      pair('event to receiver p50', 'ms', (p) => p.e2eMs.p50, at20 ? { target: '<= 1.5x floor', pass: p50Floor !== undefined && p50 <= 1.5 * p50Floor } : {});
      const p99 = m(hub, (p) => p.e2eMs.p99);
      pair('event to receiver p99', 'ms', (p) => p.e2eMs.p99, at20 ? { target: '< 250 ms', pass: p99 < 250 } : {});
      pair('ingest p50', 'ms', (p) => p.ingestMs.p50);
      const ip99 = m(hub, (p) => p.ingestMs.p99);
      pair('ingest p99', 'ms', (p) => p.ingestMs.p99, ph.name === '100 ev/s' ? { target: '< 50 ms', pass: ip99 < 50 } : {});
      if (ph.path === '/fail') pair('last delivery after last send', 'ms', (p) => p.lastAfterLastSendMs);
      const sum = (ps: PhaseResult[], f: (p: PhaseResult) => number) => ps.reduce((a, p) => a + f(p), 0);
      const lost = sum(hub, (p) => p.lost);
      const dup = sum(hub, (p) => p.duplicates);
      rows.push({
        scenario: sc,
        metric: 'lost / duplicates',
        value: `${lost} / ${dup}`,
        unit: '',
        target: '0 / 0',
        pass: lost === 0 && dup === 0,
        note:
          `floor ${sum(floor, (p) => p.lost)} / ${sum(floor, (p) => p.duplicates)}; accepted ${sum(hub, (p) => p.accepted)} of ${sum(hub, (p) => p.sent)} ` +
          `(floor ${sum(floor, (p) => p.accepted)} of ${sum(floor, (p) => p.sent)}); hub start failures ${sum(hub, (p) => p.startFailures ?? 0)}` +
          (hub.some((p) => p.timedOut) ? '; TIMED OUT' : ''),
      });
    }
  }
  return rows;
}
