import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPg } from '../dev/embedded-postgres';
import { ensureTemporalCli } from '../dev/temporal-cli';
import { ensureGoTools, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from '../dev/go-tools';
import { setUpSchemas, type SqlToolEnv } from './schema';
import type { TemporalServerEnv, TemporalServerPorts } from './server-config';
import { runSetup } from './setup';
import { startTemporalServer, type TemporalServer } from './temporal-server';
import { startWebUi, type WebUi } from './web-ui';

/** API processes and workers of the hub in the production-like topology (docker-compose.yml runs as many workers). */
export const CLUSTER_APIS = 2;
export const CLUSTER_WORKERS = 2;

/** Temporal's two databases, named as docker-compose.yml names them (DBNAME, VISIBILITY_DBNAME). */
export const TEMPORAL_DATABASES = { main: 'temporal', visibility: 'temporal_visibility' };

export interface InfrastructureOptions {
  projectRoot: string;
  /** State: `postgres/` (all databases), `temporal/` (server config and log), `web/`. */
  dataDir: string;
  pgPort: number;
  temporalPorts: TemporalServerPorts;
  /** Temporal Web's port; none: no Web. */
  uiPort?: number;
  namespace: string;
  /** DELIVERY_NICE for the Temporal server's threads (src/priority.ts). */
  nice?: number;
  log?: (line: string) => void;
}

/**
 * The production-like infrastructure on one machine: PostgreSQL (embedded) holding the hub's database and
 * Temporal's default and visibility stores, the schema set-up with `temporal-sql-tool`, the Temporal server on
 * the repository's dynamic config, the namespace and search attributes, and Temporal Web. Each step is the
 * one docker-compose.yml runs; every part can be stopped and started again on the same data.
 */
export class ClusterInfrastructure {
  pg?: EmbeddedPg;
  temporal?: TemporalServer;
  web?: WebUi;
  private binaries?: { server: string; sqlTool: string; ui?: string; cli: string };

  constructor(readonly options: InfrastructureOptions) {}

  get temporalAddress(): string {
    return `127.0.0.1:${this.options.temporalPorts.frontend}`;
  }

  get databaseUrl(): string {
    if (!this.pg) throw new Error('PostgreSQL is not started');
    return this.pg.url;
  }

  /**
   * Builds what is missing (Temporal server and sql tool, the CLI, Temporal Web) into .tools/bin; minutes on a
   * cold Go cache. Web is optional: when it cannot be built, the cluster runs without it and says so.
   */
  ensureBinaries(): void {
    const log = this.options.log ?? (() => undefined);
    const [server, sqlTool] = ensureGoTools(this.options.projectRoot, [TEMPORAL_SERVER, TEMPORAL_SQL_TOOL], log);
    const cli = ensureTemporalCli(this.options.projectRoot, log);
    let ui: string | undefined;
    if (this.options.uiPort !== undefined) {
      try {
        [ui] = ensureGoTools(this.options.projectRoot, [TEMPORAL_UI_SERVER], log);
      } catch (err) {
        log(`Temporal Web not available: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    this.binaries = { server, sqlTool, ui, cli };
  }

  async start(): Promise<void> {
    const log = this.options.log ?? (() => undefined);
    if (!this.binaries) this.ensureBinaries();
    await this.startPostgres();
    log(`PostgreSQL (embedded) on 127.0.0.1:${this.pg!.port}, data in ${this.pg!.dataDir}`);
    await setUpSchemas(this.binaries!.sqlTool, this.sqlToolEnv(), TEMPORAL_DATABASES, log);
    await this.startTemporal();
    log(`Temporal server ${this.temporalAddress} (PostgreSQL: ${TEMPORAL_DATABASES.main}, SQL visibility: ${TEMPORAL_DATABASES.visibility})`);
    await runSetup(this.binaries!.cli, this.temporalAddress, this.options.namespace, log);
    if (this.options.uiPort !== undefined && this.binaries!.ui) {
      try {
        this.web = await startWebUi({
          binary: this.binaries!.ui,
          dir: path.join(this.options.dataDir, 'web'),
          temporalAddress: this.temporalAddress,
          port: this.options.uiPort,
          namespace: this.options.namespace,
        });
      } catch (err) {
        log(`Temporal Web not available: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  async startPostgres(): Promise<void> {
    fs.mkdirSync(this.options.dataDir, { recursive: true });
    fs.chmodSync(this.options.dataDir, 0o755); // postgres runs as its own user when we are root
    this.pg = await startEmbeddedPostgres({ dataDir: path.join(this.options.dataDir, 'postgres'), port: this.options.pgPort });
  }

  async stopPostgres(): Promise<void> {
    await this.pg?.stop();
  }

  async startTemporal(): Promise<void> {
    if (!this.binaries) this.ensureBinaries();
    this.temporal = await startTemporalServer({
      binary: this.binaries!.server,
      dir: path.join(this.options.dataDir, 'temporal'),
      env: this.serverEnv(),
      ports: this.options.temporalPorts,
      nice: this.options.nice,
    });
  }

  async stopTemporal(): Promise<void> {
    await this.temporal?.stop();
  }

  /** Stops Web, Temporal, then PostgreSQL. */
  async stop(): Promise<void> {
    await this.web?.stop();
    await this.temporal?.stop();
    await this.pg?.stop();
  }

  /** The `temporal` service's variables in docker-compose.yml, with this machine's values. */
  serverEnv(): TemporalServerEnv {
    const url = new URL(this.databaseUrl);
    return {
      DB: 'postgres12',
      DB_PORT: url.port,
      POSTGRES_SEEDS: url.hostname,
      POSTGRES_USER: decodeURIComponent(url.username),
      POSTGRES_PWD: decodeURIComponent(url.password),
      DBNAME: TEMPORAL_DATABASES.main,
      VISIBILITY_DBNAME: TEMPORAL_DATABASES.visibility,
      DYNAMIC_CONFIG_FILE_PATH: path.join(this.options.projectRoot, 'deploy', 'temporal', 'dynamicconfig.yaml'),
      BIND_ON_IP: '127.0.0.1',
      LOG_LEVEL: 'warn',
    };
  }

  /** The `temporal-schema` service's SQL_* variables in docker-compose.yml, with this machine's values. */
  sqlToolEnv(): SqlToolEnv {
    const url = new URL(this.databaseUrl);
    return {
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: url.hostname,
      SQL_PORT: url.port,
      SQL_USER: decodeURIComponent(url.username),
      SQL_PASSWORD: decodeURIComponent(url.password),
    };
  }
}
