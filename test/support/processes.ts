import { Client, Connection } from '@temporalio/client';
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPg } from '../../src/dev/embedded-postgres';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import type { Config } from '../../src/config';
import { DEFAULT_WORKER_HEAP_MB, workerExecArgv } from '../../src/worker/heap';
import { DEFAULT_DELIVERY_NICE } from '../../src/priority';
import { freeLowPort, freePort } from './ports';
import { PROJECT_ROOT } from './stack';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'src', 'main');

/** One service process (API or worker) run from the built entry point, as in production. */
export class ServiceProcess {
  child?: ChildProcess;
  readonly output: string[] = [];
  /** Its log lines at level error or above (pino 50/60), the last 200, kept apart from `output`, which a busy run cycles through. */
  readonly errorLines: string[] = [];
  /** Peak resident set size seen in /proc (VmHWM), in bytes, of the last run. */
  peakRssBytes = 0;

  constructor(
    readonly name: 'api' | 'worker',
    private readonly env: () => NodeJS.ProcessEnv,
    /** Another checkout whose `dist/` to run (the benchmark's before/after in one run); default: this one. */
    private readonly root?: string,
  ) {}

  start(): void {
    const main = this.root ? path.join(this.root, 'dist', 'src', 'main') : MAIN;
    const env = this.env();
    // as the launchers start it: the worker's main thread bounded by WORKER_HEAP_MB (src/worker/heap.ts)
    const execArgv = this.name === 'worker' ? workerExecArgv(Number(env.WORKER_HEAP_MB ?? DEFAULT_WORKER_HEAP_MB)) : [];
    // the benchmark's profiles (bench/README.md): node refuses --cpu-prof in NODE_OPTIONS, so it is passed here
    if (env.BENCH_CPU_PROFILE_DIR) execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.join(env.BENCH_CPU_PROFILE_DIR, this.name)}`);
    this.child = fork(path.join(main, `${this.name}.js`), [], { env, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const keep = (d: Buffer) => {
      const text = d.toString();
      this.output.push(text);
      if (this.output.length > 2000) this.output.splice(0, 1000);
      for (const line of text.split('\n')) if (/"level":(50|60)/.test(line)) this.errorLines.push(line.slice(0, 4000));
      if (this.errorLines.length > 200) this.errorLines.splice(0, this.errorLines.length - 200);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  /** Reads the process's peak RSS so far (Linux). */
  samplePeakRss(): number {
    const pid = this.child?.pid;
    if (!pid) return this.peakRssBytes;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.peakRssBytes = Math.max(this.peakRssBytes, Number(m[1]) * 1024);
    } catch {
      // exited
    }
    return this.peakRssBytes;
  }

  /** Kills it hard (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.stopWith('SIGKILL');
  }

  /** Stops it gracefully (SIGTERM). */
  async stop(): Promise<void> {
    await this.stopWith('SIGTERM');
  }

  private stopWith(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    this.samplePeakRss();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  }
}

/**
 * The whole service as separate OS processes, the way it runs in production: an embedded PostgreSQL,
 * a Temporal dev server on a SQLite file, the API and a worker from `dist/`. Every part can be killed,
 * stopped and started again on the same data, for fault injection and benchmarks.
 */
export class ProcessStack {
  pg?: EmbeddedPg;
  temporal?: TemporalDevServer;
  readonly api: ServiceProcess;
  readonly worker: ServiceProcess;
  readonly adminToken = `bench-admin-${crypto.randomBytes(12).toString('hex')}`;
  readonly ingestToken = `bench-ingest-${crypto.randomBytes(12).toString('hex')}`;
  readonly masterKey = crypto.randomBytes(32).toString('base64url');
  apiPort = 0;
  private client?: Client;
  private connection?: Connection;

  private constructor(
    readonly dir: string,
    readonly ports: { pg: number; temporal: number; ui: number },
    readonly extraEnv: Record<string, string>,
    root?: string,
  ) {
    this.api = new ServiceProcess('api', () => this.env(), root);
    this.worker = new ServiceProcess('worker', () => this.env(), root);
  }

  /**
   * Starts PostgreSQL, Temporal, the worker and the API; resolves when the API is ready. `root`: run the API
   * and worker from another built checkout (its migrations run on this stack's fresh database).
   */
  static async start(extraEnv: Record<string, string> = {}, opts: { root?: string } = {}): Promise<ProcessStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-proc-'));
    fs.chmodSync(dir, 0o755); // postgres runs as its own user when we are root
    // below the kernel's ephemeral range: a port the fault suite frees for a while (PostgreSQL or Temporal stopped)
    // cannot meanwhile become the local end of an outgoing connection (or a connection to itself) and block the restart
    const s = new ProcessStack(dir, { pg: await freeLowPort(), temporal: await freeLowPort(), ui: await freeLowPort() }, extraEnv, opts.root);
    try {
      // allSettled: when one part fails, the other has still finished starting, so stop() ends it too
      const started = await Promise.allSettled([s.startPostgres(), s.startTemporal()]);
      for (const r of started) if (r.status === 'rejected') throw r.reason;
      s.apiPort = await freePort();
      s.worker.start();
      s.api.start();
      await s.waitReady();
      return s;
    } catch (err) {
      // a stack that failed to start leaves no Temporal server, PostgreSQL or service process behind
      await s.stop().catch(() => undefined);
      throw err;
    }
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get databaseUrl(): string {
    return this.pg!.url;
  }

  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: this.pg?.url,
      TEMPORAL_ADDRESS: `127.0.0.1:${this.ports.temporal}`,
      TEMPORAL_TASK_QUEUE: 'integrations-hub',
      PORT: String(this.apiPort),
      ENCRYPTION_MASTER_KEY: this.masterKey,
      ADMIN_TOKEN: this.adminToken,
      INGEST_TOKEN: this.ingestToken,
      OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
      ...this.extraEnv,
    };
  }

  /**
   * Starts PostgreSQL; a port taken between `freePort` and the bind (the Temporal dev server starting beside
   * it picks ports of its own; seen once in a fresh-clone run: "could not bind ... Address already in use")
   * is given up for another one, twice at most. Any other error fails at once.
   */
  async startPostgres(): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        this.pg = await startEmbeddedPostgres({ dataDir: path.join(this.dir, 'pg'), port: this.ports.pg });
        return;
      } catch (err) {
        if (tries >= 3 || !/Address already in use/.test((err as Error).message)) throw err;
        this.ports.pg = await freeLowPort();
      }
    }
  }

  async stopPostgres(): Promise<void> {
    await this.pg?.stop();
  }

  async startTemporal(): Promise<void> {
    this.temporal = await startTemporalDevServer({
      binary: ensureTemporalCli(PROJECT_ROOT),
      dbFile: path.join(this.dir, 'temporal.db'),
      port: this.ports.temporal,
      uiPort: this.ports.ui,
      namespace: 'default',
      headless: true,
      // as `npm start` runs it (DELIVERY_NICE, src/priority.ts)
      nice: Number(this.extraEnv.DELIVERY_NICE ?? DEFAULT_DELIVERY_NICE),
    });
    const conn = await Connection.connect({ address: this.temporal.address });
    await ensureSearchAttributes(conn, 'default');
    await conn.close();
  }

  async stopTemporal(): Promise<void> {
    await this.client?.connection.close().catch(() => undefined);
    this.client = undefined;
    await this.temporal?.stop();
  }

  /** A Temporal client on this stack's server (reconnects after a restart). */
  async temporalClient(): Promise<Client> {
    if (!this.client) {
      this.connection = await Connection.connect({ address: `127.0.0.1:${this.ports.temporal}` });
      this.client = new Client({ connection: this.connection, namespace: 'default' });
    }
    return this.client;
  }

  /** Polls /readyz until it answers 200. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.baseUrl}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`API not ready after ${timeoutMs} ms; output:\n${this.api.output.join('').slice(-3000)}`);
  }

  /** Calls the API as admin (or with the given token). */
  async call<T = any>(method: string, p: string, body?: unknown, token = this.adminToken): Promise<{ status: number; headers: Headers; body: T }> {
    const res = await fetch(`${this.baseUrl}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async stop(): Promise<void> {
    await Promise.all([this.api.stop(), this.worker.stop()]);
    await this.connection?.close().catch(() => undefined);
    await Promise.all([this.temporal?.stop(), this.pg?.stop()]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A worker process beside an in-process Hub (same database, Temporal and key), with a data folder of its own
 * named after `prefix`; `extraEnv` adds to its environment.
 */
export function workerBeside(config: Config, prefix: string, extraEnv: Record<string, string> = {}): ServiceProcess {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return new ServiceProcess('worker', () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: config.databaseUrl,
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    ENCRYPTION_MASTER_KEY: config.encryption.masterKey,
    OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...extraEnv,
  }));
}
