import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unpackTo } from './unpack';

/** How long a plugin may take to load in the trial process. */
const VET_TIMEOUT_MS = 10_000;

/**
 * Loads a plugin tarball once in a separate, short-lived Node process before it is installed anywhere:
 * a plugin that calls `process.exit`, crashes the runtime or hangs while loading is refused here instead of
 * taking the API and workers down. Resolves with what happened: `fatal` for those, else the trial's result
 * (a plain throw is not fatal: it is installed and listed as failed, like any load error).
 */
export async function vetPlugin(bytes: Buffer): Promise<{ fatal?: string; error?: string; providers?: string[] }> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugin-vet-')), 'package');
  try {
    await unpackTo(bytes, dir);
    return await new Promise((resolve) => {
      const child = fork(path.join(__dirname, 'vet-child.js'), [dir], {
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        env: { PATH: process.env.PATH, NODE_ENV: process.env.NODE_ENV },
      });
      let result: { error?: string; providers?: string[] } | undefined;
      const timer = setTimeout(() => child.kill('SIGKILL'), VET_TIMEOUT_MS);
      child.on('message', (m) => (result = m as typeof result));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (result) resolve(result);
        else if (signal === 'SIGKILL') resolve({ fatal: `the plugin did not finish loading within ${VET_TIMEOUT_MS / 1000} s` });
        else resolve({ fatal: `the plugin ended the process while loading (${signal ?? `exit code ${code}`})` });
      });
    });
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}
