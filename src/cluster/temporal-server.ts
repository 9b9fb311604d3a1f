import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stopChild, waitForFrontend } from '../dev/temporal-dev-server';
import { setNice } from '../priority';
import { renderServerConfig, type TemporalServerEnv, type TemporalServerPorts } from './server-config';

/** A running Temporal server (all four services in one process, as the `temporalio/server` image runs it). */
export interface TemporalServer {
  address: string;
  pid?: number;
  /** The server's last output lines (it also goes to `logFile`). */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Writes the server's config into `<dir>/config/development.yaml` and starts `temporal-server start` on it;
 * resolves once the frontend answers. Its log is appended to `<dir>/temporal-server.log`.
 */
export async function startTemporalServer(options: {
  binary: string;
  dir: string;
  env: TemporalServerEnv;
  ports: TemporalServerPorts;
  readyTimeoutMs?: number;
  /** Nice value for all its threads (DELIVERY_NICE); none: inherited. */
  nice?: number;
}): Promise<TemporalServer> {
  const configDir = path.join(options.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(
    path.join(configDir, 'development.yaml'),
    `${JSON.stringify(renderServerConfig(options.env, options.ports), null, 2)}\n`,
    { mode: 0o600 }, // it holds the database password
  );
  const logFile = fs.openSync(path.join(options.dir, 'temporal-server.log'), 'a');
  const recent: string[] = [];
  const keep = (d: Buffer) => {
    fs.writeSync(logFile, d);
    recent.push(d.toString());
    if (recent.length > 200) recent.splice(0, 100);
  };
  const child = spawn(options.binary, ['--root', options.dir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // DELIVERY_NICE (src/priority.ts): its threads so far now, the ones they start inherit it
  if (options.nice && child.pid) setNice(options.nice, child.pid);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('close', () => fs.closeSync(logFile));
  const address = `127.0.0.1:${options.ports.frontend}`;
  const tail = () => recent.join('').slice(-4000);
  try {
    await waitForFrontend(child, address, options.readyTimeoutMs ?? 120_000);
  } catch (err) {
    await stopChild(child);
    throw new Error(`Temporal server did not start on ${address}: ${(err as Error).message}\n--- temporal server output ---\n${tail()}`);
  }
  return { address, pid: child.pid, tail, stop: () => stopChild(child) };
}
