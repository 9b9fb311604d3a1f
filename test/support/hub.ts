import type { Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { activityStores, createActivities, type ActivityDeps } from '../../activities';
import { buildApi } from '../../src/api';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase } from '../../src/database/open';
import { createApp } from '../../src/http/app';
import { hubReadiness } from '../../src/http/readiness';
import { registerPollerGauge } from '../../src/metrics/pollers';
import { UI_DIR } from '../../src/http/ui';
import { createLogger, type Logger } from '../../src/logger';
import { createSecretBox } from '../../src/secrets/crypto';
import { outboundClient } from '../../src/outbound';
import { providersWithPlugins } from '../../src/providers';
import type { PluginRuntime } from '../../src/plugins/runtime';
import type { ProviderRegistry } from '../../providers/registry';
import type { ProviderDefinition } from '../../providers/types';
import { buildBackgroundWorker, buildWorker } from '../../src/worker';
import { tracedClient } from '../../src/temporal/tracing';
import { registerBacklogGauges } from '../../src/metrics/backlog';
import { DeliveryMetrics } from '../../src/metrics/deliveries';
import { OpenApiChecker } from './openapi-check';
import { getStack } from './stack';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const INGEST_TOKEN = 'test-ingest-token-0123456789';

/** A JSON response as the tests read it. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * The real service for one suite: its own database and task queue on the shared Temporal and
 * PostgreSQL, the API on a free port and a worker in this process (stoppable, to test crashes).
 */
export class Hub {
  worker?: Worker;
  private checker?: OpenApiChecker;
  private workerRun?: Promise<void>;
  /** The background Worker (recoveries, replays) beside `worker`, started and stopped with it. */
  backgroundWorker?: Worker;
  private backgroundRun?: Promise<void>;
  private workerConnection?: NativeConnection;
  /** Workers started by startExtraWorker (stopped by close()). */
  private readonly extraWorkers: { worker: Worker; run: Promise<void>; connection: NativeConnection }[] = [];
  private constructor(
    readonly config: Config,
    readonly dataSource: DataSource,
    readonly api: ReturnType<typeof buildApi>,
    readonly server: Server,
    readonly baseUrl: string,
    readonly logger: Logger,
    /** Every log line of this hub's API and worker, to search for secrets. */
    readonly logs: string[],
    readonly providers: ProviderRegistry,
    readonly plugins: PluginRuntime,
    /** The registry behind `/metrics`: the API's backlog gauges and this process' worker metrics. */
    readonly metrics: Registry,
    private readonly deliveryMetrics: DeliveryMetrics,
  ) {}

  /**
   * Starts a hub; `extraProviders` are registered beside the built-ins (skipped when a built-in of the
   * same id exists), so a provider can be tested before it is listed in providers/index.ts.
   */
  static async start(
    name: string,
    env: Record<string, string> = {},
    extraProviders: ProviderDefinition[] = [],
    /** `apiConnection`: the API's own Temporal connection (e.g. through a proxy); the worker keeps the stack's. */
    options: { apiConnection?: Connection } = {},
  ): Promise<Hub> {
    const stack = await getStack();
    const dbUrl = await stack.createDatabase(name);
    const config = loadConfig({
      ENCRYPTION_MASTER_KEY: crypto.randomBytes(32).toString('base64url'),
      ADMIN_TOKEN,
      INGEST_TOKEN,
      DATABASE_URL: dbUrl,
      TEMPORAL_ADDRESS: stack.temporal.address,
      TEMPORAL_TASK_QUEUE: `${name}-${crypto.randomBytes(4).toString('hex')}`,
      OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8',
      LOG_LEVEL: 'info',
      // a suite's receivers share one origin, so its failures add up to one target's circuit across tests and
      // would open it (10 attempts, 70 % failed) depending on timing: a held delivery then waits out a 60 s cooldown.
      // The circuit is off unless a suite sets its thresholds (target-health and the admin UI suites do).
      TARGET_CIRCUIT_MIN_ATTEMPTS: '1000000',
      ...env,
    });
    // capture the logs so tests can search them for secrets
    const logs: string[] = [];
    const captured = createLogger(config.logLevel, name, { write: (line: string) => logs.push(line) });
    const dataSource = await openDatabase(dbUrl, captured, { preparedStatements: config.preparedStatements });
    const { registry: providers, plugins } = providersWithPlugins(config, dataSource, captured);
    await plugins.start(dbUrl);
    for (const p of extraProviders) if (!providers.get(p.id)) providers.register(p);
    const api = buildApi({
      config,
      dataSource,
      // traced as in src/main/api.ts: workflow starts carry the request's trace context
      client: tracedClient(options.apiConnection ?? stack.connection, config.temporal.namespace),
      logger: captured,
      providers,
      plugins,
      secrets: createSecretBox([config.encryption.masterKey]),
      http: outboundClient(config),
    });
    await api.catalogue.seedBuiltins();
    const metrics = new Registry();
    registerBacklogGauges(metrics, dataSource);
    // as in src/main/api.ts, on the API's own Temporal connection
    const readiness = hubReadiness({ config, db: dataSource, connection: options.apiConnection ?? stack.connection });
    registerPollerGauge(metrics, readiness.pollers);
    const deliveryMetrics = new DeliveryMetrics(metrics);
    const app = createApp({
      logger: captured,
      registry: metrics,
      readiness: readiness.checks,
      apiRouter: api.router,
      uiDir: UI_DIR,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const hub = new Hub(config, dataSource, api, server, baseUrl, captured, logs, providers, plugins, metrics, deliveryMetrics);
    await hub.startWorker();
    return hub;
  }

  /** Starts a worker on this hub's task queue. */
  async startWorker(): Promise<void> {
    const stack = await getStack();
    this.workerConnection = await NativeConnection.connect({ address: stack.temporal.address });
    this.worker = await buildWorker({
      config: this.config,
      connection: this.workerConnection,
      dataSource: this.dataSource,
      logger: this.logger,
      providers: this.providers,
      metrics: this.deliveryMetrics,
      client: stack.client,
    });
    this.workerRun = this.worker.run();
    this.backgroundWorker = await buildBackgroundWorker({ config: this.config, connection: this.workerConnection, dataSource: this.dataSource, logger: this.logger });
    this.backgroundRun = this.backgroundWorker.run();
  }

  /**
   * Starts one more worker on this hub's task queue, as a second worker process would be (its own connection,
   * the same activities and workflows); Temporal spreads the queue's tasks over all of them. close() stops it.
   */
  async startExtraWorker(): Promise<Worker> {
    const stack = await getStack();
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await buildWorker({
      config: this.config,
      connection,
      dataSource: this.dataSource,
      logger: this.logger,
      providers: this.providers,
      metrics: this.deliveryMetrics,
      client: stack.client,
    });
    this.extraWorkers.push({ worker, run: worker.run(), connection });
    return worker;
  }

  /** Stops the worker (as a crash would, from the workflows' point of view: their timers keep running in Temporal). */
  /**
   * The worker's activities on this hub's database, providers and key, for a test to run one directly (in a mock
   * activity context); `extra` replaces a dependency.
   */
  activities(extra: Partial<ActivityDeps> = {}): ReturnType<typeof createActivities> {
    return createActivities({
      ...activityStores(this.dataSource),
      logger: this.logger,
      providers: this.providers,
      secrets: createSecretBox([this.config.encryption.masterKey]),
      http: outboundClient(this.config),
      ...extra,
    });
  }

  async stopWorker(): Promise<void> {
    this.worker?.shutdown();
    if (this.backgroundWorker?.getState() === 'RUNNING') this.backgroundWorker.shutdown();
    await this.workerRun;
    await this.backgroundRun;
    this.backgroundRun = undefined;
    this.backgroundWorker = undefined;
    await this.workerConnection?.close();
    this.workerConnection = undefined;
    this.workerRun = undefined;
    this.worker = undefined;
  }

  /**
   * Calls the API with JSON; the admin token unless another is given (null = none). Every answer is
   * checked against the served OpenAPI document (route, status, content type, body schema): one that
   * disagrees fails the test. `callUnchecked` is for the few tests that call what is not in it on purpose.
   */
  async call<T = any>(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    const res = await this.callUnchecked<T>(method, path, body, token, headers);
    this.checker ??= new OpenApiChecker((await this.callUnchecked('GET', '/openapi.json', undefined, null)).body);
    const problems = this.checker.problems({ method, path, status: res.status, contentType: res.headers.get('content-type'), body: res.body });
    if (problems.length) throw new assert.AssertionError({ message: `the answer disagrees with the OpenAPI document:\n${problems.join('\n')}` });
    return res;
  }

  /** As `call`, without the check against the OpenAPI document. */
  async callUnchecked<T = any>(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async close(): Promise<void> {
    await this.api.reconciler.stop();
    await this.api.ingest.settle();
    for (const w of this.extraWorkers.splice(0)) {
      w.worker.shutdown();
      await w.run;
      await w.connection.close();
    }
    await this.stopWorker();
    this.api.live.stop();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    await this.plugins.stop();
    await this.dataSource.destroy();
  }
}

/** Polls `probe` until it returns a truthy value; fails with the last value after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}
