/**
 * The Temporal server's configuration, rendered from the same variables the `temporalio/server:1.29.1` image
 * renders its `config_template.yaml` from (docker-compose.yml sets them on the `temporal` service), for the
 * PostgreSQL plugin and SQL visibility. Where compose leaves a variable to the image's default, so does this.
 * Written as JSON, which YAML parsers read as is.
 */

/** The variables of docker-compose.yml's `temporal` service (and the image defaults it relies on). */
export interface TemporalServerEnv {
  DB: string;
  DB_PORT: string;
  POSTGRES_SEEDS: string;
  POSTGRES_USER: string;
  POSTGRES_PWD: string;
  DBNAME?: string;
  VISIBILITY_DBNAME?: string;
  DYNAMIC_CONFIG_FILE_PATH: string;
  NUM_HISTORY_SHARDS?: string;
  BIND_ON_IP?: string;
  LOG_LEVEL?: string;
}

/** The server's ports: gRPC and membership per service, and the frontend's HTTP API. Membership ports are
 * stored in a PostgreSQL smallint: they must be below 32768. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** Temporal's standard layout around a frontend port (7233 gives the image's defaults: 7243, 6933, 7234, ...). */
export function portsAround(frontend: number): TemporalServerPorts {
  return {
    frontend,
    frontendHttp: frontend + 10,
    frontendMembership: frontend - 300,
    history: frontend + 1,
    historyMembership: frontend - 299,
    matching: frontend + 2,
    matchingMembership: frontend - 298,
    worker: frontend + 6,
    workerMembership: frontend - 294,
  };
}

export function renderServerConfig(env: TemporalServerEnv, ports: TemporalServerPorts): Record<string, unknown> {
  for (const key of ['frontendMembership', 'historyMembership', 'matchingMembership', 'workerMembership'] as const) {
    if (ports[key] > 32767) throw new Error(`${key} port ${ports[key]}: the Temporal server stores membership ports as a smallint (< 32768)`);
  }
  const plugin = env.DB.toLowerCase();
  if (plugin !== 'postgres12' && plugin !== 'postgres12_pgx') throw new Error(`DB=${env.DB}: only the PostgreSQL plugins are rendered here`);
  const ip = env.BIND_ON_IP ?? '127.0.0.1';
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: plugin,
      databaseName,
      connectAddr: `${env.POSTGRES_SEEDS}:${env.DB_PORT}`,
      connectProtocol: 'tcp',
      user: env.POSTGRES_USER,
      password: env.POSTGRES_PWD,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: ip, ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: env.LOG_LEVEL ?? 'info' },
    persistence: {
      numHistoryShards: Number(env.NUM_HISTORY_SHARDS ?? '4'),
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        default: sql(env.DBNAME ?? 'temporal', 20),
        visibility: sql(env.VISIBILITY_DBNAME ?? 'temporal_visibility', 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: ip },
      pprof: { port: 0 },
    },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      matching: rpc(ports.matching, ports.matchingMembership),
      history: rpc(ports.history, ports.historyMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${ip}:${ports.frontend}`,
          httpAddress: `${ip}:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: env.DYNAMIC_CONFIG_FILE_PATH, pollInterval: '60s' },
  };
}
