import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// What the launchers (`npm start`, `npm run cluster`) share: supervised service processes and the generated secrets.

/** Runs a process of the service and restarts it if it dies on its own. */
export function supervise(name: string, script: string, env: NodeJS.ProcessEnv, stopping: () => boolean, say: (line: string) => void, execArgv: string[] = []) {
  let child: ChildProcess;
  const start = () => {
    child = fork(script, [], { env, stdio: 'inherit', execArgv: [...process.execArgv, ...execArgv] });
    child.on('exit', (code, signal) => {
      if (stopping()) return;
      say(`${name} exited (${signal ?? code}); restarting in 1 s`);
      setTimeout(start, 1000);
    });
  };
  start();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The encryption key and admin token for a machine with nothing prepared: generated once, kept
 * (mode 600) in the data folder so restarts decrypt what was stored. Explicit variables win.
 */
export function devSecrets(dataDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const file = path.join(dataDir, 'dev-secrets.json');
  let stored: Record<string, string> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const wanted = {
    ENCRYPTION_MASTER_KEY: stored.ENCRYPTION_MASTER_KEY ?? crypto.randomBytes(32).toString('base64url'),
    ADMIN_TOKEN: stored.ADMIN_TOKEN ?? `adm_${crypto.randomBytes(24).toString('base64url')}`,
  };
  if (!stored.ENCRYPTION_MASTER_KEY || !stored.ADMIN_TOKEN) {
    fs.writeFileSync(file, JSON.stringify(wanted, null, 2), { mode: 0o600 });
  }
  return {
    ENCRYPTION_MASTER_KEY: env.ENCRYPTION_MASTER_KEY || wanted.ENCRYPTION_MASTER_KEY,
    ADMIN_TOKEN: env.ADMIN_TOKEN || wanted.ADMIN_TOKEN,
  };
}
