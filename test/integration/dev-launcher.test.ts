import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { waitFor } from '../support/hub';
import { freePort } from '../support/ports';
import { PROJECT_ROOT } from '../support/stack';

/** Processes whose command line (or, with `env`, environment) mentions `needle` (Linux /proc). */
function processesMentioning(needle: string, where: ('cmdline' | 'environ')[] = ['cmdline']): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (where.some((file) => fs.readFileSync(`/proc/${entry}/${file}`, 'utf8').includes(needle))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Whether `pid` still runs: a zombie (exited, not yet reaped by an init that may never reap it) does not. */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** Starts `npm start`'s launcher with its data in `dir` and free ports; resolves when the API is ready. */
async function startLauncher(dir: string): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const [port, temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    EMBEDDED_PG_PORT: String(pgPort),
    TEMPORAL_CLI_PATH: ensureTemporalCli(PROJECT_ROOT, () => undefined),
    LOG_LEVEL: 'warn',
  };
  // the embedded parts, whatever this shell points at
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/main/dev.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    'the dev stack to be ready',
    120_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; launcher said:\n${output}`);
  });
  return { child, port, output: () => output };
}

// `npm start` runs this launcher; a supervisor (systemd, a container runtime, a CI job) stops it with SIGTERM
// sent to it alone, not to its process group as a terminal's Ctrl-C does.
describe('dev launcher (npm start)', function () {
  this.timeout(180_000);
  let dataDir: string;
  let launcher: ChildProcess | undefined;

  before(function () {
    if (process.platform !== 'linux') this.skip();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-dev-launcher-'));
    // run as root, embedded PostgreSQL drops to the postgres user, which must reach its data folder
    fs.chmodSync(dataDir, 0o755);
  });
  after(async () => {
    if (launcher && launcher.exitCode === null) launcher.kill('SIGKILL');
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says why PostgreSQL did not start when another stack holds its data folder', async () => {
    const pgDir = path.join(dataDir, 'pg-twice');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir: pgDir, port });
    try {
      await assert.rejects(startEmbeddedPostgres({ dataDir: pgDir, port }), (err: Error) => {
        assert.match(err.message, new RegExp(`PostgreSQL did not start on 127\\.0\\.0\\.1:${port} with its data in ${pgDir}`));
        assert.match(err.message, /another postmaster|already exists/);
        return true;
      });
    } finally {
      await first.stop();
    }
  });

  it('stops the API, the worker, Temporal and PostgreSQL when it alone gets SIGTERM', async () => {
    const started = await startLauncher(dataDir);
    launcher = started.child;
    const { port } = started;
    const output = started.output;
    const children = processesMentioning(dataDir).filter((pid) => pid !== launcher!.pid);
    assert.ok(children.length >= 2, `Temporal and PostgreSQL run with their data in ${dataDir}: ${children}`);

    const exited = new Promise<number | null>((resolve) => launcher!.once('exit', (code) => resolve(code)));
    launcher.kill('SIGTERM');
    assert.equal(await exited, 0, output());
    assert.deepEqual(processesMentioning(dataDir), [], `nothing left running with ${dataDir}; launcher said:\n${output()}`);
    const apiUp = await fetch(`http://127.0.0.1:${port}/readyz`).then(() => true, () => false);
    assert.equal(apiUp, false, 'the API is down');
  });
});

describe('services forked by the launcher', function () {
  this.timeout(180_000);
  let dir: string;
  before(function () {
    if (process.platform !== 'linux') this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-dev-orphans-'));
    fs.chmodSync(dir, 0o755);
  });
  after(() => {
    // Temporal and PostgreSQL are not Node children: a launcher killed outright leaves them, as any process would
    for (const pid of processesMentioning(dir, ['cmdline', 'environ'])) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('end when the launcher is killed outright (SIGKILL), so no orphaned worker takes a later stack\'s tasks', async () => {
    const { child } = await startLauncher(dir);
    const services = processesMentioning(dir, ['environ']).filter((pid) => {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('main/api.js') || cmd.includes('main/worker.js');
    });
    assert.equal(services.length, 2, 'the API and the worker run');
    child.kill('SIGKILL');
    await waitFor(async () => services.every((pid) => !alive(pid)), 'the API and the worker to exit', 30_000, 100);
  });
});
