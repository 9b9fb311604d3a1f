import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { portsAround } from '../../src/cluster/server-config';
import { waitFor } from '../support/hub';
import { freePort } from '../support/ports';
import { PROJECT_ROOT } from '../support/stack';

/** Processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A frontend port whose whole Temporal layout (membership ports below 32768) is free. */
async function freeFrontendPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const frontend = 21000 + Math.floor(Math.random() * 11000);
    const all = Object.values(portsAround(frontend));
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return frontend;
  }
  throw new Error('no free Temporal port layout');
}

// `npm run cluster` is this launcher: it comes up with two APIs, and a SIGTERM sent to it alone (as a
// supervisor sends it) stops every part, in order.
describe('cluster launcher (npm run cluster)', function () {
  this.timeout(300_000);
  let dataDir: string;
  let launcher: ChildProcess | undefined;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-cluster-launcher-'));
    fs.chmodSync(dataDir, 0o755);
  });
  after(() => {
    if (launcher && launcher.exitCode === null) launcher.kill('SIGKILL');
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs two APIs on PORT and PORT+1 and stops APIs, workers, Web, Temporal and PostgreSQL on SIGTERM', async () => {
    let port = await freePort();
    while (!(await isFree(port + 1))) port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(await freeFrontendPort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    launcher = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/main/cluster.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    launcher.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    launcher.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const ready = async (p: number) => fetch(`http://127.0.0.1:${p}/readyz`).then((r) => r.status === 200, () => false);
    await waitFor(async () => (await ready(port)) && (await ready(port + 1)) && output.includes('Press Ctrl-C'), 'both APIs ready', 240_000, 500).catch(
      (err: Error) => {
        throw new Error(`${err.message}; launcher said:\n${output}`);
      },
    );
    assert.match(output, new RegExp(`Temporal server 127\\.0\\.0\\.1:${env.TEMPORAL_DEV_PORT} \\(PostgreSQL: temporal, SQL visibility: temporal_visibility\\)`));
    assert.match(output, /Temporal Web: http:\/\/localhost:\d+/);
    const web = await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/api/v1/settings`);
    assert.equal(web.status, 200, 'Temporal Web answers');
    const parts = processesMentioning(dataDir);
    assert.ok(parts.length >= 3, `PostgreSQL, the Temporal server and Web run with their data in ${dataDir}: ${parts}`);

    const exited = new Promise<number | null>((resolve) => launcher!.once('exit', (code) => resolve(code)));
    launcher.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.deepEqual(processesMentioning(dataDir), [], `nothing left running with ${dataDir}; launcher said:\n${output}`);
    for (const p of [port, port + 1]) assert.equal(await ready(p), false, `the API on ${p} is down`);
  });
});
