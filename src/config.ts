import { z } from 'zod';
import { DEFAULT_PAYLOAD_COPY } from './deliveries/payload';
import { DEFAULT_WORKER_HEAP_MB } from './worker/heap';
import { DEFAULT_DELIVERY_NICE } from './priority';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const csv = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean));

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((s) => (s === '' ? undefined : s))
    .refine((s) => s === undefined || isUrlWith(s, protocols), {
      message: `must be a URL starting with ${protocols.join(' or ')}`,
    });

function isUrlWith(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const DAY_MS = 86_400_000;

const token = z.string().min(16, 'must be at least 16 characters').optional();

/** Environment variables the service reads, with defaults. One schema for every process. */
/** A switch: `true`/`1` on, `false`/`0` off, unset or empty its default. */
const envFlag = (defaultOn: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? defaultOn : v === 'true' || v === '1'));

export const envSchema = z.object({
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  DATA_DIR: z.string().min(1).default('.data'),
  TEMPORAL_ADDRESS: z
    .string()
    .optional()
    .transform((s) => (s === '' ? undefined : s))
    .refine((s) => s === undefined || /^[A-Za-z0-9.-]+:\d{1,5}$/.test(s), { message: 'must be host:port' }),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('integrations-hub'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: optionalUrl(['http:', 'https:']).transform((s) => s ?? 'http://localhost:8233'),
  TEMPORAL_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ENCRYPTION_MASTER_KEY: z.string().min(16, 'must be at least 16 characters'),
  ENCRYPTION_PREVIOUS_KEYS: csv,
  ADMIN_TOKEN: token,
  INGEST_TOKEN: token,
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  OUTBOUND_ALLOWED_NETWORKS: csv,
  OUTBOUND_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  OUTBOUND_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  ATTEMPT_BODY_MAX_BYTES: z.coerce.number().int().min(0).max(1024 * 1024).default(64 * 1024),
  INGEST_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  INGEST_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(500),
  INGEST_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(1000),
  PROVIDER_PLUGINS: csv,
  PLUGIN_INSTALL_ENABLED: envFlag(false),
  PLUGIN_ALLOWED_SCOPES: csv.refine((scopes) => scopes.every((x) => /^@[a-z0-9][a-z0-9._~-]*$/.test(x)), {
    message: 'must be npm scopes such as @acme, comma-separated',
  }),
  PLUGIN_REGISTRY_URL: optionalUrl(['http:', 'https:']).transform((s) => (s ?? 'https://registry.npmjs.org').replace(/\/$/, '')),
  PLUGIN_MAX_TARBALL_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  PLUGIN_MAX_UNPACKED_BYTES: z.coerce.number().int().min(1024).max(2 * 1024 * 1024 * 1024).default(100 * 1024 * 1024),
  PLUGIN_RUN_AS_USER: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? 'nobody' : s.trim()))
    .refine((s) => /^(\d+(:\d+)?|[A-Za-z_][A-Za-z0-9_.-]*)$/.test(s), { message: 'must be a user name, a uid or uid:gid' }),
  PLUGIN_MAX_MEMORY_MB: z.coerce.number().int().min(32).max(64 * 1024).default(256),
  PLUGIN_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(10 * 60_000).default(30_000),
  PLUGIN_MAX_CRASHES: z.coerce.number().int().min(1).max(1000).default(3),
  PLUGIN_CRASH_WINDOW_S: z.coerce.number().int().min(1).max(7 * 86400).default(600),
  SHELL_PROVIDER_ENABLED: envFlag(false),
  SHELL_RUN_AS_USER: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? 'nobody' : s.trim()))
    .refine((s) => /^(\d+(:\d+)?|[A-Za-z_][A-Za-z0-9_.-]*)$/.test(s), { message: 'must be a user name, a uid or uid:gid' }),
  SHELL_MAX_PROCESSES: z.coerce.number().int().min(1).max(100_000).default(64),
  SHELL_MAX_MEMORY_MB: z.coerce.number().int().min(16).max(1024 * 1024).default(1024),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(100),
  WORKFLOW_START_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  WORKFLOW_START_QUEUE: z.coerce.number().int().min(0).max(1_000_000).default(5_000),
  RECONCILE_BATCH: z.coerce.number().int().min(1).max(1_000).default(50),
  TARGET_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  BACKGROUND_MAX_JOBS: z.coerce.number().int().min(1).max(1_000).default(4),
  BACKGROUND_WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(100).default(2),
  BACKGROUND_REQUESTS_PER_SECOND: z.coerce.number().min(0.1).max(10_000).default(10),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).max(100_000).default(500),
  WORKER_HEAP_MB: z.coerce.number().int().min(128).max(65_536).default(DEFAULT_WORKER_HEAP_MB),
  DELIVERY_NICE: z.coerce.number().int().min(0).max(19).default(DEFAULT_DELIVERY_NICE),
  READINESS_MAX_PENDING_AGE_S: z.coerce.number().int().min(1).default(600),
  READINESS_POLLER_MAX_AGE_S: z.coerce.number().int().min(1).max(3_600).default(75),
  WORKER_TEMPORAL_LOST_AFTER_S: z.coerce.number().int().min(1).max(3_600).default(60),
  WORKER_SHUTDOWN_FORCE_S: z.coerce.number().int().min(1).max(3_600).default(30),
  ORDERED_FOLLOW_UPS: envFlag(true),
  WORKER_METRICS_PORT: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? undefined : Number(s)))
    .refine((n) => n === undefined || (Number.isInteger(n) && n >= 0 && n <= 65535), { message: 'must be a port number (0-65535)' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(['http:', 'https:']),
  UI_SESSION_TTL_MINUTES: z.coerce.number().int().min(1).max(30 * 24 * 60).default(12 * 60),
  TARGET_CIRCUIT_FAILURE_RATIO: z.coerce.number().gt(0).max(1).default(0.7),
  TARGET_CIRCUIT_MIN_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  TARGET_CIRCUIT_WINDOW_MS: z.coerce.number().int().min(1_000).default(5 * 60_000),
  TARGET_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(100).default(60_000),
  TARGET_PAUSE_AFTER_MS: z.coerce.number().int().min(1_000).default(5 * 24 * 3_600_000),
  DELIVERY_PAYLOAD_COPY: envFlag(DEFAULT_PAYLOAD_COPY),
  DB_PREPARED_STATEMENTS: envFlag(true),
  RETENTION_DAYS: z.coerce.number().min(0).default(30),
  RETENTION_PAYLOAD_DAYS: z.coerce.number().min(0).optional(),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  RETENTION_BATCH_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(20),
  RETENTION_SCHEDULE: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? '17 3 * * *' : s.trim()))
    .refine((s) => s === 'off' || s.split(/\s+/).length === 5, { message: 'must be a 5-field cron expression (UTC) or "off"' }),
}).superRefine((e, ctx) => {
  if (e.RETENTION_PAYLOAD_DAYS !== undefined && e.RETENTION_DAYS > 0 && e.RETENTION_PAYLOAD_DAYS > e.RETENTION_DAYS) {
    ctx.addIssue({ code: 'custom', path: ['RETENTION_PAYLOAD_DAYS'], message: 'must not be more than RETENTION_DAYS (rows go with their payloads)' });
  }
});

/** The validated configuration, frozen. Units are in the names. */
export interface Config {
  databaseUrl?: string;
  embeddedPgPort: number;
  dataDir: string;
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    devPort: number;
    uiPort: number;
    /** How long an API request waits on Temporal (an update, a start) before it answers 503/504. */
    requestTimeoutMs: number;
  };
  port: number;
  encryption: { masterKey: string; previousKeys: string[] };
  adminToken?: string;
  ingestToken?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  outbound: { allowedNetworks: string[]; timeoutMs: number; maxResponseBytes: number };
  /** How much of each request and response body the delivery log keeps per attempt (0: headers only). */
  attemptBodyMaxBytes: number;
  ingestMaxBodyBytes: number;
  /** Per-token ingest limit (0 = off) and the burst allowed above it. */
  ingestRateLimit: { perSecond: number; burst: number };
  workerMaxConcurrentActivities: number;
  /**
   * Workflow starts (src/ingest/start-pacer.ts): at most `concurrency` in flight per process (adaptive below it),
   * at most `queue` waiting (beyond: left to the reconciler); the reconciler takes `reconcileBatch` rows a pass.
   */
  workflowStarts: { concurrency: number; queue: number; reconcileBatch: number };
  /** Worker: how long a target found with no limit and a closed circuit skips those statements (0 = off; src/targets/quiet.ts). */
  targetCacheTtlMs: number;
  /**
   * Bulk recoveries and replays: their workflows run on `taskQueue` (`<TEMPORAL_TASK_QUEUE>-background`), served by
   * a second Worker of `workerMaxActivities` activity slots; at most `maxJobs` run at once (409 beyond).
   */
  background: { taskQueue: string; maxJobs: number; workerMaxActivities: number; requestsPerSecond: number };
  /** Workflows a worker keeps in memory between their tasks (the rest are replayed from history when they wake). */
  workerMaxCachedWorkflows: number;
  /**
   * The V8 heap limit (old space, MB) of each JavaScript heap of a worker process: its workflow threads get it at
   * start (src/worker/heap.ts); its main thread where it is started with `--max-old-space-size` (the launchers do).
   */
  workerHeapMb: number;
  /** DELIVERY_NICE: nice value of the worker's threads and of the embedded Temporal server (src/priority.ts). */
  deliveryNice: number;
  /** `/readyz`: not ready with a pending delivery older than maxPendingAgeMs, or no poller seen within pollerMaxAgeMs. */
  readiness: { maxPendingAgeMs: number; pollerMaxAgeMs: number };
  /** When a worker process gives up: Temporal unanswered this long is fatal; a stop ends the process after forceExitMs. */
  workerWatchdog: { temporalLostAfterMs: number; forceExitMs: number };
  /** Ordered follow-ups (docs/DESIGN.md decision 12): the worker attempts a lane's deliveries one at a time. */
  orderedFollowUps: boolean;
  /** Port of the worker's Prometheus `/metrics` (absent: the worker serves no metrics). */
  workerMetricsPort?: number;
  /** npm packages or folders providing more providers. */
  providerPlugins: string[];
  /** The shell provider runs commands on the worker host: off unless an admin turns it on. */
  shellProviderEnabled: boolean;
  /** Whom shell commands run as (a root worker switches to this user) and their limits (providers/shell/README.md). */
  shell: { runAsUser: string; maxProcesses: number; maxMemoryBytes: number };
  /**
   * The service's own secrets (master keys, tokens, the database password, and every variable whose name says
   * it holds one): masked in command output, whatever a command manages to read.
   */
  serverSecrets: readonly string[];
  /** Installing provider plugins at run time (`POST /plugins`): off unless enabled; scopes allowed (empty = any). */
  pluginInstall: { enabled: boolean; allowedScopes: string[]; registryUrl: string; maxTarballBytes: number; maxUnpackedBytes: number };
  /**
   * How installed plugins run: each in its own host process (src/plugins/host.ts) as `runAsUser` (when this
   * process is root), with a heap of `maxMemoryMb`, every call within `callTimeoutMs`; `maxCrashes` crashes or
   * hangs within `crashWindowMs` disable the plugin.
   */
  pluginHost: { runAsUser: string; maxMemoryMb: number; callTimeoutMs: number; maxCrashes: number; crashWindowMs: number };
  /** OTLP/HTTP endpoint traces are exported to (absent: no spans are exported; traceparent still flows). */
  otlpEndpoint?: string;
  /** How long an admin UI sign-in lasts. */
  uiSessionTtlMs: number;
  /**
   * Delivery log retention: finished rows older than `rowsMaxAgeMs` and payloads older than
   * `payloadsMaxAgeMs` are purged (0 = kept forever), `batchSize` rows per short transaction with
   * `batchPauseMs` between batches; `schedule` is the daily purge's cron (UTC) or null for none.
   */
  retention: { rowsMaxAgeMs: number; payloadsMaxAgeMs: number; batchSize: number; batchPauseMs: number; schedule: string | null };
  /** Target circuits (docs/delivery.md "Target health and hub events"). */
  targetHealth: TargetHealthConfig;
  /**
   * DELIVERY_PAYLOAD_COPY: new delivery rows also carry a copy of their emission's payload, for workers of the
   * previous release during a rolling upgrade (src/deliveries/payload.ts, docs/operations.md "Upgrading").
   */
  payloadCopy: boolean;
  /** DB_PREPARED_STATEMENTS: the delivery path's hot statements are prepared once per connection (src/database/prepared.ts). */
  preparedStatements: boolean;
}

/**
 * When a target's circuit opens: at least `minAttempts` attempts in the last `windowMs` of which at least
 * `failureRatio` failed. An open circuit lets one probe through after `cooldownMs`; a target failing for
 * `pauseAfterMs` without a success pauses its subscriptions.
 */
export interface TargetHealthConfig {
  failureRatio: number;
  minAttempts: number;
  windowMs: number;
  cooldownMs: number;
  pauseAfterMs: number;
}

/** Thrown when the environment is wrong; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Names of variables that hold a secret, whoever reads them (ours and those of the platform around us). */
const SECRET_VARIABLE = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|_URL|_URI|_DSN)/i;
const MIN_SECRET_CHARS = 8;

/** The service's secrets: ours by name, a password in any URL, and each variable whose name says secret. */
function serverSecretsOf(env: NodeJS.ProcessEnv, e: z.output<typeof envSchema>): string[] {
  const found = new Set<string>([e.ENCRYPTION_MASTER_KEY, ...e.ENCRYPTION_PREVIOUS_KEYS]);
  for (const t of [e.ADMIN_TOKEN, e.INGEST_TOKEN]) if (t) found.add(t);
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || !SECRET_VARIABLE.test(name)) continue;
    const credentials = urlCredentials(value);
    if (credentials.length) credentials.forEach((c) => found.add(c));
    // a URL without credentials (TEMPORAL_UI_URL, a registry) is an address, not a secret
    else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) found.add(value);
  }
  return [...found].filter((s) => s.length >= MIN_SECRET_CHARS);
}

/** The password (and the whole URL) of a URL with credentials, e.g. DATABASE_URL. */
function urlCredentials(value: string): string[] {
  try {
    const u = new URL(value);
    if (!u.password) return [];
    return [value, decodeURIComponent(u.password), u.password];
  } catch {
    return [];
  }
}

/** Parses and validates the environment once; throws ConfigError naming each wrong variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '(environment)'),
        // zod's messages never echo the value, so a wrong secret is not printed
        message: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
      })),
    );
  }
  const e = parsed.data;
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    dataDir: e.DATA_DIR,
    temporal: Object.freeze({
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      requestTimeoutMs: e.TEMPORAL_REQUEST_TIMEOUT_MS,
    }),
    port: e.PORT,
    encryption: Object.freeze({ masterKey: e.ENCRYPTION_MASTER_KEY, previousKeys: e.ENCRYPTION_PREVIOUS_KEYS }),
    adminToken: e.ADMIN_TOKEN,
    ingestToken: e.INGEST_TOKEN,
    logLevel: e.LOG_LEVEL,
    outbound: Object.freeze({
      allowedNetworks: e.OUTBOUND_ALLOWED_NETWORKS,
      timeoutMs: e.OUTBOUND_TIMEOUT_MS,
      maxResponseBytes: e.OUTBOUND_MAX_RESPONSE_BYTES,
    }),
    attemptBodyMaxBytes: e.ATTEMPT_BODY_MAX_BYTES,
    ingestMaxBodyBytes: e.INGEST_MAX_BODY_BYTES,
    ingestRateLimit: Object.freeze({ perSecond: e.INGEST_RATE_LIMIT_PER_SECOND, burst: e.INGEST_RATE_LIMIT_BURST }),
    workerMaxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
    targetCacheTtlMs: e.TARGET_CACHE_TTL_MS,
    workflowStarts: Object.freeze({ concurrency: e.WORKFLOW_START_CONCURRENCY, queue: e.WORKFLOW_START_QUEUE, reconcileBatch: e.RECONCILE_BATCH }),
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    workerHeapMb: e.WORKER_HEAP_MB,
    deliveryNice: e.DELIVERY_NICE,
    background: Object.freeze({
      taskQueue: `${e.TEMPORAL_TASK_QUEUE}-background`,
      maxJobs: e.BACKGROUND_MAX_JOBS,
      workerMaxActivities: e.BACKGROUND_WORKER_MAX_ACTIVITIES,
      requestsPerSecond: e.BACKGROUND_REQUESTS_PER_SECOND,
    }),
    readiness: Object.freeze({
      maxPendingAgeMs: e.READINESS_MAX_PENDING_AGE_S * 1000,
      pollerMaxAgeMs: e.READINESS_POLLER_MAX_AGE_S * 1000,
    }),
    workerWatchdog: Object.freeze({
      temporalLostAfterMs: e.WORKER_TEMPORAL_LOST_AFTER_S * 1000,
      forceExitMs: e.WORKER_SHUTDOWN_FORCE_S * 1000,
    }),
    orderedFollowUps: e.ORDERED_FOLLOW_UPS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    providerPlugins: e.PROVIDER_PLUGINS,
    shellProviderEnabled: e.SHELL_PROVIDER_ENABLED,
    shell: Object.freeze({ runAsUser: e.SHELL_RUN_AS_USER, maxProcesses: e.SHELL_MAX_PROCESSES, maxMemoryBytes: e.SHELL_MAX_MEMORY_MB * 1024 * 1024 }),
    serverSecrets: Object.freeze(serverSecretsOf(env, e)),
    pluginInstall: Object.freeze({
      enabled: e.PLUGIN_INSTALL_ENABLED,
      allowedScopes: e.PLUGIN_ALLOWED_SCOPES,
      registryUrl: e.PLUGIN_REGISTRY_URL,
      maxTarballBytes: e.PLUGIN_MAX_TARBALL_BYTES,
      maxUnpackedBytes: e.PLUGIN_MAX_UNPACKED_BYTES,
    }),
    pluginHost: Object.freeze({
      runAsUser: e.PLUGIN_RUN_AS_USER,
      maxMemoryMb: e.PLUGIN_MAX_MEMORY_MB,
      callTimeoutMs: e.PLUGIN_CALL_TIMEOUT_MS,
      maxCrashes: e.PLUGIN_MAX_CRASHES,
      crashWindowMs: e.PLUGIN_CRASH_WINDOW_S * 1000,
    }),
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    uiSessionTtlMs: e.UI_SESSION_TTL_MINUTES * 60_000,
    targetHealth: Object.freeze({
      failureRatio: e.TARGET_CIRCUIT_FAILURE_RATIO,
      minAttempts: e.TARGET_CIRCUIT_MIN_ATTEMPTS,
      windowMs: e.TARGET_CIRCUIT_WINDOW_MS,
      cooldownMs: e.TARGET_CIRCUIT_COOLDOWN_MS,
      pauseAfterMs: e.TARGET_PAUSE_AFTER_MS,
    }),
    payloadCopy: e.DELIVERY_PAYLOAD_COPY,
    preparedStatements: e.DB_PREPARED_STATEMENTS,
    retention: Object.freeze({
      rowsMaxAgeMs: e.RETENTION_DAYS * DAY_MS,
      payloadsMaxAgeMs: (e.RETENTION_PAYLOAD_DAYS ?? e.RETENTION_DAYS) * DAY_MS,
      batchSize: e.RETENTION_BATCH_SIZE,
      batchPauseMs: e.RETENTION_BATCH_PAUSE_MS,
      schedule: e.RETENTION_SCHEDULE === 'off' ? null : e.RETENTION_SCHEDULE,
    }),
  });
}
