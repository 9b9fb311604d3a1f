import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_WORKER_HEAP_MB } from '../../src/worker/heap';
import { parse } from 'yaml';
import { asText, compose, composeText, environment, interpolate, rawEnvironment, sampleVars, type ComposeService } from '../support/compose';
import { envSchema } from '../../src/config';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

// compiled to dist/test/unit: the repository root is three levels up
const ROOT = path.resolve(__dirname, '../../..');

/** Services built from this repository's Dockerfile. */
const OUR_SERVICES = ['api', 'worker'];

function dependencies(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition]));
}

function hostOf(address: string): { host: string; port: string } {
  const m = /^([^:]+):(\d+)$/.exec(address);
  assert.ok(m, `${address} is not host:port`);
  return { host: m[1], port: m[2] };
}

/** `dist/<x>.js` as the TypeScript build emits it from `<x>.ts` (tsconfig: rootDir ".", outDir "dist"). */
function sourceOf(compiled: string): string {
  const m = /^dist\/(.+)\.js$/.exec(compiled);
  assert.ok(m, `${compiled} is not a file under dist/`);
  return `${m[1]}.ts`;
}

function dockerfileStages(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text.split(/^FROM\s/m).slice(1);
}

describe('docker-compose.yml', () => {
  it('builds exactly the api and worker services from this repository', () => {
    const built = Object.entries(compose().services)
      .filter(([, s]) => s.build !== undefined)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(built, [...OUR_SERVICES].sort());
  });

  it('substitutes every ${...} with a default or a required marker, shell variables being escaped as $$', () => {
    const text = composeText();
    const vars = sampleVars(text);
    const visit = (node: unknown, where: string): void => {
      if (typeof node === 'string') {
        assert.doesNotThrow(() => interpolate(node, vars), `${where}: ${node}`);
      } else if (Array.isArray(node)) {
        node.forEach((n, i) => visit(n, `${where}[${i}]`));
      } else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) visit(v, `${where}.${k}`);
      }
    };
    visit(parse(text), '');
  });

  for (const name of OUR_SERVICES) {
    it(`gives ${name} an environment the config schema accepts, with DATABASE_URL and TEMPORAL_ADDRESS set`, () => {
      const text = composeText();
      const env = environment(compose().services[name], sampleVars(text));
      const parsed = envSchema.safeParse(env);
      assert.ok(
        parsed.success,
        `${name}: ${parsed.success ? '' : parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
      );
      // the composition roots refuse to start without these two
      assert.ok(parsed.data.DATABASE_URL, `${name}: DATABASE_URL`);
      assert.ok(parsed.data.TEMPORAL_ADDRESS, `${name}: TEMPORAL_ADDRESS`);
    });

    it(`passes ${name} only variables the config schema defines`, () => {
      const known = new Set(Object.keys(envSchema.shape));
      const unknown = Object.keys(rawEnvironment(compose().services[name])).filter((k) => !known.has(k));
      assert.deepEqual(unknown, [], `${name} sets variables the service never reads`);
    });

    it(`refuses to start ${name} without ENCRYPTION_MASTER_KEY`, () => {
      const text = composeText();
      const vars: Record<string, string | undefined> = { ...sampleVars(text), ENCRYPTION_MASTER_KEY: undefined };
      assert.throws(() => environment(compose().services[name], vars), /ENCRYPTION_MASTER_KEY/);
    });
  }

  it('refuses to start the api without ADMIN_TOKEN', () => {
    const vars: Record<string, string | undefined> = { ...sampleVars(composeText()), ADMIN_TOKEN: undefined };
    assert.throws(() => environment(compose().services.api, vars), /ADMIN_TOKEN/);
  });

  it('points DATABASE_URL at the postgres service, with its user, password and database', () => {
    const { services } = compose();
    const vars = sampleVars(composeText());
    const pg = environment(services.postgresql, vars);
    assert.match(services.postgresql.image ?? '', /^postgres:/);
    for (const name of OUR_SERVICES) {
      const url = new URL(environment(services[name], vars).DATABASE_URL);
      assert.equal(url.hostname, 'postgresql', `${name}: host`);
      assert.ok(url.port === '' || url.port === '5432', `${name}: port ${url.port}`);
      assert.equal(decodeURIComponent(url.username), pg.POSTGRES_USER, `${name}: user`);
      assert.equal(decodeURIComponent(url.password), pg.POSTGRES_PASSWORD, `${name}: password`);
      assert.equal(url.pathname, `/${pg.POSTGRES_DB}`, `${name}: database`);
    }
  });

  it('points TEMPORAL_ADDRESS of the app, the set-up step and the UI at the temporal service', () => {
    const { services } = compose();
    assert.match(services.temporal.image ?? '', /^temporalio\/server:/);
    for (const name of [...OUR_SERVICES, 'temporal-setup', 'temporal-ui']) {
      const { host, port } = hostOf(environment(services[name], sampleVars(composeText())).TEMPORAL_ADDRESS);
      assert.equal(host, 'temporal', `${name}: host`);
      assert.equal(port, '7233', `${name}: port`);
    }
  });

  it('registers exactly the search attributes the workflows use, with their types, in the namespace the app uses', () => {
    const { services } = compose();
    const script = asText(services['temporal-setup'].command);
    const typeName: Record<string, string> = {
      TEXT: 'text', KEYWORD: 'keyword', INT: 'int', DOUBLE: 'double', BOOL: 'bool', DATETIME: 'datetime', KEYWORD_LIST: 'keywordlist',
    };
    const registered = [...script.matchAll(/temporal operator search-attribute create\b([^\n]*)/g)].map((m) => {
      const flag = (f: string) => new RegExp(`--${f}[ =]"?([A-Za-z0-9_-]+)`).exec(m[1])?.[1];
      return { name: flag('name'), type: flag('type')?.toLowerCase(), namespace: flag('namespace') };
    });
    assert.deepEqual(
      registered.map((r) => `${r.name}:${r.type}`).sort(),
      SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}:${typeName[k.type]}`).sort(),
    );
    const vars = sampleVars(composeText());
    for (const name of OUR_SERVICES) {
      const namespace = environment(services[name], vars).TEMPORAL_NAMESPACE ?? 'default';
      assert.ok(registered.every((r) => r.namespace === namespace), `${name} uses namespace ${namespace}`);
      assert.match(script, new RegExp(`temporal operator namespace create\\b[^\\n]*--namespace[ =]${namespace}\\b`));
    }
  });

  it('sets up the temporal and temporal_visibility schemas with the PostgreSQL plugin before the server starts', () => {
    const { services } = compose();
    const schema = services['temporal-schema'];
    const script = asText(schema.command);
    const server = environment(services.temporal, sampleVars(composeText()));
    const databases = { [server.DBNAME ?? 'temporal']: 'temporal', [server.VISIBILITY_DBNAME ?? 'temporal_visibility']: 'visibility' };
    for (const [db, dir] of Object.entries(databases)) {
      for (const step of ['create', 'setup-schema', `update-schema --schema-name postgresql/v12/${dir}`]) {
        assert.match(
          script,
          new RegExp(`temporal-sql-tool --plugin postgres12 --db ${db} ${step.replace(/[/.-]/g, '\\$&')}(\\s|$)`),
          `${db}: ${step}`,
        );
      }
    }
    assert.match(schema.image ?? '', /^temporalio\/admin-tools:/);
    assert.equal(server.DB, 'postgres12');
    assert.equal(server.POSTGRES_SEEDS, 'postgresql');
    assert.equal(dependencies(services.temporal)['temporal-schema'], 'service_completed_successfully');
    assert.equal(dependencies(schema).postgresql, 'service_healthy');
  });

  it('gives the Temporal server the dynamic config file of this repository (eager activity execution on)', () => {
    const temporal = compose().services.temporal;
    const env = temporal.environment as Record<string, string>;
    const target = env.DYNAMIC_CONFIG_FILE_PATH;
    assert.ok(target, 'DYNAMIC_CONFIG_FILE_PATH is set');
    const mount = (temporal.volumes ?? []).map(String).find((v) => v.split(':')[1] === target);
    assert.ok(mount, `a volume is mounted at ${target}`);
    const source = path.join(ROOT, mount.split(':')[0]);
    const dynamic = parse(fs.readFileSync(source, 'utf8')) as Record<string, { value: unknown }[]>;
    assert.deepEqual(dynamic['system.enableActivityEagerExecution'], [{ value: true }]);
  });

  it('uses no image of the deprecated temporalio/auto-setup', () => {
    for (const [name, service] of Object.entries(compose().services)) {
      assert.ok(!(service.image ?? '').includes('auto-setup'), `${name}: ${service.image}`);
    }
  });

  it('pins every image it pulls to a version tag', () => {
    for (const [name, service] of Object.entries(compose().services)) {
      if (service.build !== undefined) continue;
      const tag = /:([^/:]+)$/.exec(service.image ?? '')?.[1];
      assert.ok(tag && tag !== 'latest', `${name}: ${service.image}`);
    }
  });

  it('depends only on services that exist, waiting for health only where a healthcheck is defined', () => {
    const { services } = compose();
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of Object.entries(dependencies(service))) {
        assert.ok(services[target], `${name} depends on missing service ${target}`);
        if (condition === 'service_healthy') assert.ok(services[target].healthcheck?.test, `${target} has no healthcheck`);
        if (condition === 'service_completed_successfully') {
          assert.ok([undefined, 'no'].includes(services[target].restart), `${target} is one-shot, yet restarts`);
        }
      }
    }
  });

  it('starts api and worker only after postgres is healthy and the Temporal set-up has completed', () => {
    const { services } = compose();
    for (const name of OUR_SERVICES) {
      const deps = dependencies(services[name]);
      assert.equal(deps.postgresql, 'service_healthy', name);
      assert.equal(deps['temporal-setup'], 'service_completed_successfully', name);
    }
  });

  it('checks api readiness on /readyz at the port it listens on and publishes', () => {
    const api = compose().services.api;
    const port = environment(api, sampleVars(composeText())).PORT;
    assert.match(asText(api.healthcheck?.test), new RegExp(`https?://(localhost|127\\.0\\.0\\.1):${port}/readyz`));
    assert.ok((api.ports ?? []).some((p) => String(p).endsWith(`:${port}`)), `api publishes ${port}`);
  });
});

describe('Dockerfile', () => {
  it('starts the api by default and the worker service with files the TypeScript build produces', () => {
    const stages = dockerfileStages();
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(stages[stages.length - 1]);
    assert.ok(cmd, 'the runtime stage has an exec-form CMD');
    const defaultCommand = JSON.parse(cmd[1]) as string[];
    assert.deepEqual(defaultCommand, ['node', 'dist/src/main/api.js']);
    const rawWorkerCommand = compose().services.worker.command as string[];
    const workerCommand = rawWorkerCommand.map((part) => interpolate(part, sampleVars(composeText())));
    // its main thread's heap bounded by the same WORKER_HEAP_MB its environment gives the workflow threads
    assert.deepEqual(workerCommand, ['node', `--max-old-space-size=${DEFAULT_WORKER_HEAP_MB}`, 'dist/src/main/worker.js']);
    assert.ok(rawWorkerCommand[1].includes('${WORKER_HEAP_MB:-'), 'the flag reads WORKER_HEAP_MB');
    assert.equal(environment(compose().services.worker, sampleVars(composeText())).WORKER_HEAP_MB, String(DEFAULT_WORKER_HEAP_MB));
    for (const compiled of [defaultCommand[1], workerCommand[2]]) {
      assert.ok(fs.existsSync(path.join(ROOT, sourceOf(compiled))), `${sourceOf(compiled)} (for ${compiled}) exists`);
    }
  });

  it('builds like scripts/setup.sh (compile, then the workflow bundle) and ships only production dependencies', () => {
    const [build] = dockerfileStages();
    assert.match(build, /^node:20-bookworm-slim\b/);
    const order = ['npm ci --ignore-scripts', 'npx tsc -p tsconfig.json', 'node dist/src/temporal/bundle.js', 'npm prune --omit=dev'];
    const at = order.map((step) => build.indexOf(step));
    assert.ok(at.every((i) => i >= 0), `missing: ${order.filter((_, i) => at[i] < 0).join(', ')}`);
    assert.deepEqual([...at].sort((a, b) => a - b), at, 'steps out of order');
    assert.ok(fs.existsSync(path.join(ROOT, sourceOf('dist/src/temporal/bundle.js'))));
  });

  it('runs as the unprivileged node user', () => {
    const stages = dockerfileStages();
    const users = [...stages[stages.length - 1].matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    assert.equal(users[users.length - 1], 'node');
  });

  it('keeps dependencies, build output, local state and secrets out of the build context', () => {
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.data', '.tools', '.git', '.env']) assert.ok(ignored.includes(entry), entry);
  });
});
