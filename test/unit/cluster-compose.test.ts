import assert from 'node:assert/strict';
import path from 'node:path';
import { CLUSTER_WORKERS, ClusterInfrastructure, TEMPORAL_DATABASES } from '../../src/cluster/infrastructure';
import { schemaSteps } from '../../src/cluster/schema';
import { portsAround, renderServerConfig, type TemporalServerEnv } from '../../src/cluster/server-config';
import { setupCommands } from '../../src/cluster/setup';
import { loadConfig } from '../../src/config';
import { TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from '../../src/dev/go-tools';
import { asText, compose, composeText, environment, sampleVars, type ComposeService } from '../support/compose';

// Issue 12: `npm run cluster` (src/cluster) and docker-compose.yml describe one topology. This reads both.

const ROOT = path.resolve(__dirname, '../../..');

/** The command lines of a one-shot service's script that start with `program`, split into arguments. */
function commandLines(service: ComposeService, program: string): string[][] {
  return asText(service.command)
    .split('\n')
    .map((l) => l.trim().replace(/^ensure\s+/, ''))
    .filter((l) => l.startsWith(`${program} `))
    .map((l) => l.split(/\s+/).slice(1));
}

/** An infrastructure object whose PostgreSQL is "running" at a known URL (nothing is started). */
function infraAt(url: string): ClusterInfrastructure {
  const infra = new ClusterInfrastructure({
    projectRoot: ROOT,
    dataDir: '/nonexistent',
    pgPort: 5432,
    temporalPorts: portsAround(7233),
    namespace: 'default',
  });
  infra.pg = { url, port: 5432, dataDir: '/nonexistent/postgres', stop: async () => undefined };
  return infra;
}

const tagOf = (image: string | undefined) => /:([^/:]+)$/.exec(image ?? '')?.[1] ?? '';
const versionOf = (module: string) => module.slice(module.lastIndexOf('@v') + 2);

describe('npm run cluster and docker-compose.yml agree', () => {
  const services = () => compose().services;
  const vars = () => sampleVars(composeText());

  it('run the same Temporal releases: server and sql tool 1.29.1, Web 2.42.1', () => {
    const s = services();
    assert.equal(tagOf(s.temporal.image), versionOf(TEMPORAL_SERVER.module));
    assert.equal(versionOf(TEMPORAL_SQL_TOOL.module), versionOf(TEMPORAL_SERVER.module));
    assert.ok(tagOf(s['temporal-schema'].image).startsWith(`${versionOf(TEMPORAL_SQL_TOOL.module)}-`), s['temporal-schema'].image);
    assert.equal(tagOf(s['temporal-ui'].image), versionOf(TEMPORAL_UI_SERVER.module));
  });

  it('set up the schemas with the same temporal-sql-tool steps, databases and SQL_* variables', () => {
    const s = services();
    const server = environment(s.temporal, vars());
    assert.deepEqual({ main: server.DBNAME, visibility: server.VISIBILITY_DBNAME }, TEMPORAL_DATABASES);
    assert.deepEqual(commandLines(s['temporal-schema'], 'temporal-sql-tool'), schemaSteps(TEMPORAL_DATABASES));
    const composeSql = environment(s['temporal-schema'], vars());
    const ours = infraAt('postgres://hub:pw@127.0.0.1:5433/integrations_hub').sqlToolEnv();
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(composeSql).sort());
    assert.equal(ours.SQL_PLUGIN, composeSql.SQL_PLUGIN);
    assert.equal(ours.SQL_USER, 'hub');
    assert.equal(ours.SQL_PORT, '5433');
  });

  it('register the namespace and the search attributes with the same temporal CLI commands', () => {
    const address = environment(services()['temporal-setup'], vars()).TEMPORAL_ADDRESS;
    const namespace = environment(services().api, vars()).TEMPORAL_NAMESPACE;
    assert.deepEqual(commandLines(services()['temporal-setup'], 'temporal'), setupCommands(address, namespace));
  });

  it('give the Temporal server the same variables, so the same config: PostgreSQL stores, SQL visibility, the dynamic config file', () => {
    const s = services();
    const composeEnv = environment(s.temporal, vars()) as unknown as TemporalServerEnv;
    const ours = infraAt(`postgres://hub:pw@127.0.0.1:5433/integrations_hub`).serverEnv();
    for (const key of Object.keys(composeEnv)) assert.ok(key in ours, `the cluster sets ${key}`);
    for (const key of ['DB', 'DBNAME', 'VISIBILITY_DBNAME'] as const) assert.equal(ours[key], composeEnv[key], key);
    // the file compose mounts at DYNAMIC_CONFIG_FILE_PATH is the one the cluster names
    const mount = (s.temporal.volumes ?? []).map(String).find((v) => v.split(':')[1] === composeEnv.DYNAMIC_CONFIG_FILE_PATH);
    assert.ok(mount, 'compose mounts the dynamic config');
    assert.equal(path.resolve(ROOT, mount.split(':')[0]), ours.DYNAMIC_CONFIG_FILE_PATH);

    // rendered from compose's variables, the config is what the image renders for them
    const rendered = renderServerConfig(composeEnv, portsAround(7233)) as any;
    assert.equal(rendered.persistence.visibilityStore, 'visibility');
    assert.equal(rendered.persistence.numHistoryShards, 4);
    for (const [store, db] of [['default', 'temporal'], ['visibility', 'temporal_visibility']]) {
      const sql = rendered.persistence.datastores[store].sql;
      assert.equal(sql.pluginName, 'postgres12', store);
      assert.equal(sql.databaseName, db, store);
      assert.equal(sql.connectAddr, 'postgresql:5432', store);
      assert.equal(sql.user, composeEnv.POSTGRES_USER, store);
    }
    assert.equal(rendered.dynamicConfigClient.filepath, composeEnv.DYNAMIC_CONFIG_FILE_PATH);
    assert.equal(rendered.services.frontend.rpc.grpcPort, 7233);
    assert.throws(() => renderServerConfig({ ...composeEnv, DB: 'cassandra' }, portsAround(7233)), /PostgreSQL/);
    // the server keeps membership ports in a smallint: a frontend high enough to push them past it is refused
    assert.throws(() => renderServerConfig(composeEnv, portsAround(40000)), /frontendMembership port 39700.*smallint/);
  });

  it('run the hub with the same namespace, task queue and number of workers', () => {
    const s = services();
    const defaults = loadConfig({ ENCRYPTION_MASTER_KEY: 'x'.repeat(32) });
    for (const name of ['api', 'worker']) {
      const env = environment(s[name], vars());
      assert.equal(env.TEMPORAL_NAMESPACE, defaults.temporal.namespace, name);
      assert.equal(env.TEMPORAL_TASK_QUEUE, defaults.temporal.taskQueue, name);
    }
    const worker = s.worker as ComposeService & { deploy?: { replicas?: number } };
    assert.equal(worker.deploy?.replicas, CLUSTER_WORKERS);
  });
});
