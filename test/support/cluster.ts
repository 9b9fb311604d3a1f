import { Client, Connection } from '@temporalio/client';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClusterInfrastructure } from '../../src/cluster/infrastructure';
import { DEFAULT_DELIVERY_NICE } from '../../src/priority';
import type { TemporalServerPorts } from '../../src/cluster/server-config';
import { freeLowPort, freePort } from './ports';
import { ServiceProcess } from './processes';
import { PROJECT_ROOT } from './stack';

/**
 * The production topology as OS processes on free loopback ports: embedded PostgreSQL, a real Temporal server on
 * it (SQL visibility), Temporal Web, two APIs and two workers from `dist/`, set up exactly as `npm run cluster`
 * does (src/cluster). Each API may reach Temporal at its own address (a test puts a proxy in between).
 */
export class ClusterStack {
  readonly apis: ServiceProcess[] = [];
  readonly workers: ServiceProcess[] = [];
  readonly apiPorts: number[] = [];
  /** The Temporal address each API uses (default: the server itself). */
  readonly apiTemporalAddress: (string | undefined)[] = [];
  readonly adminToken = `cl-admin-${crypto.randomBytes(12).toString('hex')}`;
  readonly ingestToken = `cl-ingest-${crypto.randomBytes(12).toString('hex')}`;
  readonly masterKey = crypto.randomBytes(32).toString('base64url');
  private connection?: Connection;
  private client?: Client;

  private constructor(
    readonly dir: string,
    readonly infra: ClusterInfrastructure,
    readonly extraEnv: Record<string, string>,
  ) {}

  /** Builds what is missing, starts the infrastructure, then the workers and the APIs; resolves when both APIs are ready. */
  static async start(opts: { apis?: number; workers?: number; web?: boolean; extraEnv?: Record<string, string> } = {}): Promise<ClusterStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-cluster-'));
    fs.chmodSync(dir, 0o755);
    const p = async () => freePort();
    const low = async () => freeLowPort(); // membership ports must fit a smallint
    const temporalPorts: TemporalServerPorts = {
      frontend: await low(), frontendHttp: await low(), frontendMembership: await low(),
      history: await low(), historyMembership: await low(),
      matching: await low(), matchingMembership: await low(),
      worker: await low(), workerMembership: await low(),
    };
    const infra = new ClusterInfrastructure({
      projectRoot: PROJECT_ROOT,
      dataDir: dir,
      pgPort: await p(),
      temporalPorts,
      uiPort: opts.web ? await p() : undefined,
      namespace: 'default',
      // as `npm run cluster` runs it (DELIVERY_NICE, src/priority.ts)
      nice: Number(opts.extraEnv?.DELIVERY_NICE ?? DEFAULT_DELIVERY_NICE),
      log: (line) => process.stdout.write(`[cluster] ${line}\n`),
    });
    const s = new ClusterStack(dir, infra, opts.extraEnv ?? {});
    try {
      await infra.start();
      for (let i = 0; i < (opts.workers ?? 2); i++) s.workers.push(new ServiceProcess('worker', () => s.env()));
      for (let i = 0; i < (opts.apis ?? 2); i++) {
        s.apiPorts.push(await p());
        s.apiTemporalAddress.push(undefined);
        s.apis.push(new ServiceProcess('api', () => s.env(i)));
      }
      for (const w of s.workers) w.start();
      for (const a of s.apis) a.start();
      await Promise.all(s.apis.map((_, i) => s.waitReady(i, 120_000)));
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  get databaseUrl(): string {
    return this.infra.databaseUrl;
  }

  baseUrl(api = 0): string {
    return `http://127.0.0.1:${this.apiPorts[api]}`;
  }

  /** The environment of API `api`, or of a worker (no index). */
  env(api?: number): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: this.infra.databaseUrl,
      TEMPORAL_ADDRESS: (api !== undefined && this.apiTemporalAddress[api]) || this.infra.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'integrations-hub',
      PORT: api === undefined ? '0' : String(this.apiPorts[api]),
      ENCRYPTION_MASTER_KEY: this.masterKey,
      ADMIN_TOKEN: this.adminToken,
      INGEST_TOKEN: this.ingestToken,
      OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
      ...this.extraEnv,
    };
  }

  /** A Temporal client on the server (made anew after a restart). */
  async temporalClient(): Promise<Client> {
    if (!this.client) {
      this.connection = await Connection.connect({ address: this.infra.temporalAddress });
      this.client = new Client({ connection: this.connection, namespace: 'default' });
    }
    return this.client;
  }

  async stopTemporal(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    this.connection = undefined;
    this.client = undefined;
    await this.infra.stopTemporal();
  }

  async startTemporal(): Promise<void> {
    await this.infra.startTemporal();
  }

  /** Polls API `api`'s /readyz until it answers 200. */
  async waitReady(api = 0, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.baseUrl(api)}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`API ${api} not ready after ${timeoutMs} ms; output:\n${this.apis[api].output.join('').slice(-3000)}`);
  }

  /** Calls API `api` (default the first) as admin, or with the given token. */
  async call<T = any>(method: string, p: string, body?: unknown, opts: { token?: string; api?: number } = {}): Promise<{ status: number; headers: Headers; body: T }> {
    const res = await fetch(`${this.baseUrl(opts.api ?? 0)}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${opts.token ?? this.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apis, ...this.workers].map((p) => p.stop()));
    await this.connection?.close().catch(() => undefined);
    await this.infra.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
