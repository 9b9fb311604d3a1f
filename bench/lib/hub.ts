// The service under test: a ProcessStack (PostgreSQL, Temporal, API and worker as OS processes),
// plus what the scenarios do with it (subscriptions, ingest bodies, delivery counts, baselines).
import { Client as PgClient } from 'pg';
import { performance } from 'node:perf_hooks';
import { ClusterStack } from '../../test/support/cluster';
import { ProcessStack, type ServiceProcess } from '../../test/support/processes';
import { freePort } from '../../test/support/ports';
import type { BenchOptions } from './context';
import { HttpClient } from './http';
import { BenchChild } from './procs';
import { sleep } from './stats';

/** Everything started by the run, stopped on exit or Ctrl-C. */
const live = new Set<{ stop(): Promise<void> }>();

/** Stops whatever is still running (stacks, baseline processes). */
export async function stopEverything(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((x) => x.stop().catch(() => undefined)));
}

/**
 * What the scenarios use of a stack. The default is a ProcessStack (dev server, one API, one worker); with
 * `--cluster` it is the production topology (test/support/cluster.ts: Temporal server on PostgreSQL, two APIs,
 * two workers), where `api` and `worker` are the first of each.
 */
export type BenchStack = Pick<
  ProcessStack,
  'api' | 'worker' | 'ingestToken' | 'adminToken' | 'databaseUrl' | 'baseUrl' | 'apiPort' | 'env' | 'temporalClient' | 'call' | 'stop'
> & { ports: { temporal: number } };

/** A started stack with the clients a scenario needs. */
export interface Hub {
  stack: BenchStack;
  /** Worker processes of the service (a baseline runs as many). */
  workerCount: number;
  /** Keep-alive client on the API (for load); on the cluster, requests alternate between the two APIs. */
  http: Pick<HttpClient, 'request' | 'close'>;
  /** A PostgreSQL connection on the service database (for counts and seeding). */
  db: PgClient;
  /** The service's own processes (APIs, workers), named for CPU accounting: api, worker (api0, api1, worker0, ... on the cluster). */
  services: Record<string, ServiceProcess>;
  stop(): Promise<void>;
}

/** Starts the whole service with the ingest rate limit off and the run's extra environment. */
export async function startHub(opts: BenchOptions, env: Record<string, string> = {}, run: { root?: string } = {}): Promise<Hub> {
  const t0 = performance.now();
  const serviceEnv = { INGEST_RATE_LIMIT_PER_SECOND: '0', ...env, ...opts.extraEnv };
  let stack: BenchStack;
  let http: Hub['http'];
  let workerCount = 1;
  let services: Record<string, ServiceProcess>;
  if (opts.cluster) {
    if (run.root) throw new Error('another checkout (--hub-dist) runs on the dev topology only');
    const cluster = await ClusterStack.start({ extraEnv: serviceEnv });
    services = Object.fromEntries([...cluster.apis.map((p, i) => [`api${i}`, p]), ...cluster.workers.map((p, i) => [`worker${i}`, p])]);
    stack = benchStackOf(cluster);
    const clients = cluster.apiPorts.map((_, i) => new HttpClient(cluster.baseUrl(i), { maxSockets: 512 }));
    let next = 0;
    http = {
      request: (...args) => clients[next++ % clients.length].request(...args),
      close: () => clients.forEach((c) => c.close()),
    };
    workerCount = cluster.workers.length;
  } else {
    const ps = await ProcessStack.start(serviceEnv, { root: run.root });
    stack = ps;
    services = { api: ps.api, worker: ps.worker };
    http = new HttpClient(stack.baseUrl, { maxSockets: 512 });
  }
  const db = new PgClient({ connectionString: stack.databaseUrl, application_name: 'bench' });
  await db.connect();
  const hub: Hub = {
    stack,
    workerCount,
    http,
    db,
    services,
    async stop() {
      live.delete(hub);
      http.close();
      await db.end().catch(() => undefined);
      await stack.stop();
    },
  };
  live.add(hub);
  opts.log(`${opts.cluster ? 'cluster' : 'stack'} up in ${Math.round(performance.now() - t0)} ms (api :${stack.apiPort}, temporal :${stack.ports.temporal})`);
  return hub;
}

/** The cluster seen as a BenchStack: its first API and worker stand for `api` and `worker`. */
function benchStackOf(c: ClusterStack): BenchStack {
  return {
    api: c.apis[0],
    worker: c.workers[0],
    ingestToken: c.ingestToken,
    adminToken: c.adminToken,
    databaseUrl: c.databaseUrl,
    baseUrl: c.baseUrl(0),
    apiPort: c.apiPorts[0],
    ports: { temporal: Number(c.infra.temporalAddress.split(':')[1]) },
    env: () => c.env(),
    temporalClient: () => c.temporalClient(),
    call: (method, p, body, token) => c.call(method, p, body, { token }),
    stop: () => c.stop(),
  };
}

/** Creates a webhook subscription on incident.created; returns its id. */
export async function createSubscription(
  hub: Hub,
  s: { name: string; url: string; systemIds?: string[]; retryPolicy?: { scheduleMs: number[] } },
): Promise<string> {
  const r = await hub.stack.call('POST', '/subscriptions', {
    name: s.name,
    provider: 'webhook',
    event: 'incident.created',
    config: { url: s.url },
    ...(s.systemIds ? { systemIds: s.systemIds } : {}),
    ...(s.retryPolicy ? { retryPolicy: s.retryPolicy } : {}),
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`create subscription: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { id: string }).id;
}

/** The JSON body of one ingest request (the same shape for the service and the baseline). */
export function ingestBody(id: string, systemIds?: string[]): string {
  return JSON.stringify({
    event: 'incident.created',
    id,
    payload: { incidentId: `inc-${id}`, title: `Bench incident ${id}`, severity: 'major', ...(systemIds ? { systemIds } : {}) },
  });
}

/** Posts one event to the service's ingest endpoint. */
export function postIngest(hub: Hub, id: string, systemIds?: string[]) {
  return hub.http.request('POST', '/api/v1/ingest', {
    body: ingestBody(id, systemIds),
    headers: { authorization: `Bearer ${hub.stack.ingestToken}` },
  });
}

/** Delivery counts by status, and the newest success time (epoch ms), for ids starting with `emissionPrefix`. */
export async function deliveryCounts(
  hub: Hub,
  emissionPrefix = '',
): Promise<{ total: number; success: number; failed: number; open: number; lastSuccessAtMs: number | null; attempts: number }> {
  const r = await hub.db.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE status = 'success')::int AS success,
            count(*) FILTER (WHERE status = 'failed')::int AS failed,
            count(*) FILTER (WHERE status IN ('pending', 'retrying'))::int AS open,
            (extract(epoch FROM max(updated_at) FILTER (WHERE status = 'success')) * 1000)::float8 AS last_success,
            coalesce(sum(attempts), 0)::int AS attempts
       FROM deliveries WHERE emission_id LIKE $1`,
    [`${emissionPrefix}%`],
  );
  const row = r.rows[0];
  return { total: row.total, success: row.success, failed: row.failed, open: row.open, lastSuccessAtMs: row.last_success, attempts: row.attempts };
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** Waits until no delivery of the stack is pending or retrying (bounded); returns the ms it took and what was left. */
export async function drain(hub: Hub, timeoutMs: number): Promise<{ ms: number; open: number }> {
  const t0 = performance.now();
  let open = 0;
  await waitUntil(async () => (open = (await deliveryCounts(hub)).open) === 0, timeoutMs, 250);
  return { ms: Math.round(performance.now() - t0), open };
}

/** Starts the bare-Temporal baseline worker (its own bundle) on the stack's server with the stack's worker settings. */
export async function startBaselineWorker(hub: Hub, taskQueue: string): Promise<BenchChild> {
  const child = new BenchChild('baseline-worker.js');
  live.add(child); // stopping an exited child is a no-op, so it may stay in the set
  await child.start({ ...hub.stack.env(), BENCH_BASELINE_TASK_QUEUE: taskQueue });
  return child;
}

/** Starts the bare Express + pg ingest baseline on the stack's PostgreSQL; returns it and its URL. */
export async function startBaselineIngest(hub: Hub): Promise<{ child: BenchChild; url: string }> {
  const port = await freePort();
  const child = new BenchChild('baseline-ingest.js');
  live.add(child);
  await child.start({ PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: hub.stack.databaseUrl, PORT: String(port) });
  return { child, url: `http://127.0.0.1:${port}` };
}
