// The benchmark of issue 6: runs the real service (PostgreSQL, Temporal dev server, API and worker as
// separate processes) on this machine against a local receiver, each scenario with a baseline measured in
// the same run; prints a table and writes bench/results/latest.json.
//
//   node dist/bench/run.js [scenario ...] [--quick] [--out FILE] [--env KEY=VALUE ...] [--tmpdir DIR] [--rates 50,100]
//
// --tmpdir puts the stacks' PostgreSQL data and Temporal SQLite file there (e.g. /dev/shm, to take the
// disk's fsync out of the numbers); default: the system temp folder, as the dev stack runs.
//
// Scenarios: ingest latency e2e (alias memory) fanout flaky log retention lanes plugins payload compare. Default: all but compare
// (issue 22's comparison with the bare floor, about 6 minutes on its own: `node dist/bench/run.js compare`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../test/support/stack';
import type { BenchOptions, Row, Scenario } from './lib/context';
import { stopEverything } from './lib/hub';
import { e2eScenario } from './scenarios/e2e';
import { fanoutScenario } from './scenarios/fanout';
import { flakyScenario } from './scenarios/flaky';
import { ingestScenario } from './scenarios/ingest';
import { latencyScenario } from './scenarios/latency';
import { logScenario } from './scenarios/log';
import { retentionScenario } from './scenarios/retention';
import { lanesScenario } from './scenarios/lanes';
import { pluginsScenario } from './scenarios/plugins';
import { compareScenario } from './scenarios/compare';
import { payloadScenario } from './scenarios/payload';

const SCENARIOS: Scenario[] = [ingestScenario, latencyScenario, e2eScenario, fanoutScenario, flakyScenario, logScenario, retentionScenario, lanesScenario, pluginsScenario, payloadScenario, compareScenario];
const ALIASES: Record<string, string> = { memory: 'e2e', throughput: 'e2e', 'first-attempt': 'latency', deliveries: 'log' };

interface Args {
  names: string[];
  quick: boolean;
  out: string;
  extraEnv: Record<string, string>;
  tmpdir?: string;
  rates?: number[];
  latencyRates?: number[];
  cluster: boolean;
  long: boolean;
  rounds?: number;
  hubVariants: { name: string; root?: string; env?: Record<string, string> }[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], quick: false, out: path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json'), extraEnv: {}, cluster: false, long: false, hubVariants: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--cluster') args.cluster = true;
    else if (a === '--long') args.long = true;
    else if (a === '--rounds') {
      args.rounds = Number(argv[++i]);
      if (!Number.isInteger(args.rounds) || args.rounds < 1) throw new Error('--rounds wants a positive integer');
    } else if (a === '--hub-dist') {
      const kv = argv[++i] ?? '';
      const eq = kv.indexOf('=');
      if (eq < 1 || !fs.existsSync(path.join(path.resolve(kv.slice(eq + 1)), 'dist', 'src', 'main', 'api.js'))) {
        throw new Error(`--hub-dist wants NAME=DIR, DIR a built checkout (DIR/dist/src/main/api.js), got "${kv}"`);
      }
      args.hubVariants.push({ name: kv.slice(0, eq), root: path.resolve(kv.slice(eq + 1)) });
    } else if (a === '--hub-env') {
      // NAME=KEY=VALUE: one more hub of this checkout with KEY=VALUE (repeat NAME for more variables)
      const m = /^([^=]+)=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(argv[++i] ?? '');
      if (!m) throw new Error('--hub-env wants NAME=KEY=VALUE');
      let v = args.hubVariants.find((x) => x.name === m[1]);
      if (!v) args.hubVariants.push((v = { name: m[1] }));
      v.env = { ...v.env, [m[2]]: m[3] };
    }
    else if (a === '--out') args.out = path.resolve(argv[++i]);
    else if (a === '--tmpdir') args.tmpdir = path.resolve(argv[++i]);
    else if (a === '--rates') {
      args.rates = (argv[++i] ?? '').split(',').map(Number);
      if (!args.rates.length || args.rates.some((r) => !(r > 0))) throw new Error('--rates wants positive numbers, e.g. 50,100');
    }
    else if (a === '--latency-rates') {
      args.latencyRates = (argv[++i] ?? '').split(',').map(Number);
      if (!args.latencyRates.length || args.latencyRates.some((r) => !(r > 0))) throw new Error('--latency-rates wants positive numbers, e.g. 20,10');
    }
    else if (a === '--env') {
      const kv = argv[++i] ?? '';
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`--env wants KEY=VALUE, got "${kv}"`);
      args.extraEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        `usage: node dist/bench/run.js [${SCENARIOS.map((s) => s.name).join('|')}|memory ...] [--quick] [--cluster] [--out FILE] [--env KEY=VALUE ...] [--tmpdir DIR] [--rates 50,100,...] [--latency-rates 50,20] [--long] [--rounds N] [--hub-dist NAME=DIR] [--hub-env NAME=KEY=VALUE]\n`,
      );
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else {
      const name = ALIASES[a] ?? a;
      if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`unknown scenario "${a}" (have: ${SCENARIOS.map((s) => s.name).join(', ')}, memory)`);
      if (!args.names.includes(name)) args.names.push(name);
    }
  }
  return args;
}

/**
 * CPU milliseconds a fixed loop takes in this process: compares machines (and shows a starved or throttled
 * VM, where CPU time itself stretches). About 100 ms on a current desktop core.
 */
export function cpuCalibrationMs(): number {
  const c0 = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x += i & 7;
  const c = process.cpuUsage(c0);
  if (x < 0) process.stdout.write(''); // keep the loop
  return Math.round((c.user + c.system) / 1000);
}

function machine() {
  const cpus = os.cpus();
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model,
    ramBytes: os.totalmem(),
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    cpuCalibrationMsAtStart: cpuCalibrationMs(),
    commit,
  };
}

/** A plain-text table of the rows. */
function table(rows: Row[]): string {
  const fmt = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isNaN(v) ? 'n/a' : String(v)) : String(v));
  const cells = rows.map((r) => [
    r.scenario,
    r.metric,
    `${fmt(r.value)}${r.unit && r.value !== undefined ? ` ${r.unit}` : ''}`,
    fmt(r.baseline),
    r.ratio === undefined ? '' : `${r.ratio}x`,
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL',
    r.note ?? '',
  ]);
  const head = ['scenario', 'metric', 'value', 'baseline', 'ratio', 'target', 'result', 'note'];
  const widths = head.map((h, i) => Math.min(i === 7 ? 200 : 60, Math.max(h.length, ...cells.map((c) => c[i].length))));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join(' | ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-')];
  let last = '';
  for (const c of cells) {
    out.push(line(c[0] === last ? ['', ...c.slice(1)] : c));
    last = c[0];
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.tmpdir) {
    // ProcessStack makes its folder with os.tmpdir(), which reads TMPDIR
    fs.mkdirSync(args.tmpdir, { recursive: true });
    process.env.TMPDIR = args.tmpdir;
  }
  const selected = args.names.length ? SCENARIOS.filter((s) => args.names.includes(s.name)) : SCENARIOS.filter((s) => s !== compareScenario);
  const t0 = performance.now();
  const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
  const opts: BenchOptions = { quick: args.quick, extraEnv: args.extraEnv, log, ingestRates: args.rates, latencyRates: args.latencyRates, cluster: args.cluster, long: args.long, rounds: args.rounds, hubVariants: args.hubVariants };
  const report = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    quick: args.quick,
    cluster: args.cluster,
    argv: process.argv.slice(2),
    extraEnv: args.extraEnv,
    stackDir: os.tmpdir(),
    machine: machine(),
    notes: [
      'The load generator and the receiver run in the benchmark process on the same machine as PostgreSQL, Temporal, the API and the worker: they share the cores.',
      'ratio = value / baseline; for throughput higher is better, for latency, CPU and memory lower is better.',
      'Latencies are wall-clock from the benchmark process; open-loop latencies count from the due time of the schedule.',
    ],
    loadAverageAtEnd: [] as number[],
    cpuCalibrationMsAtEnd: 0,
    scenarios: {} as Record<string, { title: string; seconds: number; details?: Record<string, unknown>; error?: string }>,
    rows: [] as Row[],
  };
  log(
    `machine: ${report.machine.cores} cores, ${report.machine.ramGiB} GiB, node ${report.machine.node}, load ${report.machine.loadAverageAtStart.join(' ')}, ` +
      `CPU calibration ${report.machine.cpuCalibrationMsAtStart} ms (about 100 on an idle desktop core)`,
  );

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping everything');
    void stopEverything().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  for (const s of selected) {
    const st = performance.now();
    log(`== ${s.name}: ${s.title}${args.quick ? ' (quick)' : ''}`);
    try {
      const out = await s.run(opts);
      report.rows.push(...out.rows);
      report.scenarios[s.name] = { title: s.title, seconds: Math.round((performance.now() - st) / 100) / 10, details: out.details };
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${s.name} failed: ${message}`);
      report.rows.push({ scenario: s.name, metric: 'error', value: (err as Error).message?.split('\n')[0] ?? String(err), unit: '', pass: false });
      report.scenarios[s.name] = { title: s.title, seconds: Math.round((performance.now() - st) / 100) / 10, error: message };
      await stopEverything();
    }
    log(`== ${s.name} done in ${report.scenarios[s.name].seconds} s`);
  }

  report.finishedAt = new Date().toISOString();
  report.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  report.cpuCalibrationMsAtEnd = cpuCalibrationMs();
  report.durationSeconds = Math.round((performance.now() - t0) / 100) / 10;
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  const m = report.machine;
  process.stdout.write(
    `\nIntegrations Hub benchmark${args.quick ? ' (quick)' : ''}${args.cluster ? ' on the cluster (Temporal server on PostgreSQL, 2 APIs, 2 workers)' : ''}: ${m.cores} cores (${m.cpuModel}), ${m.ramGiB} GiB RAM, node ${m.node}, ` +
      `load avg ${m.loadAverageAtStart.join(' ')} at start, ${report.loadAverageAtEnd.join(' ')} at end; ` +
      `CPU calibration ${m.cpuCalibrationMsAtStart} / ${report.cpuCalibrationMsAtEnd} ms (about 100 on an idle desktop core)` +
      `${Object.keys(args.extraEnv).length ? `; env ${JSON.stringify(args.extraEnv)}` : ''}; stacks in ${report.stackDir}\n` +
      `(load generator and receiver share the machine with the service; ratio = value / baseline)\n\n` +
      `${table(report.rows)}\n\nJSON: ${path.relative(process.cwd(), args.out) || args.out} (${report.durationSeconds} s)\n`,
  );
  const failed = report.rows.some((r) => r.metric === 'error');
  process.exitCode = failed ? 1 : 0;
}

main().catch(async (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  await stopEverything();
  process.exit(2);
});
