import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stopChild } from '../dev/temporal-dev-server';

/** A running Temporal Web (ui-server), as docker-compose.yml's `temporal-ui` service runs it. */
export interface WebUi {
  url: string;
  stop(): Promise<void>;
}

/** Starts Temporal Web on 127.0.0.1:`port` against the frontend at `temporalAddress`; resolves when it serves. */
export async function startWebUi(options: {
  binary: string;
  dir: string;
  temporalAddress: string;
  port: number;
  namespace: string;
  readyTimeoutMs?: number;
}): Promise<WebUi> {
  const configDir = path.join(options.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const config = {
    temporalGrpcAddress: options.temporalAddress,
    host: '127.0.0.1',
    port: options.port,
    enableUi: true,
    defaultNamespace: options.namespace,
    refreshInterval: '1m',
    cors: { cookieInsecure: false, allowOrigins: [], unsafeAllowAllOrigins: false },
  };
  fs.writeFileSync(path.join(configDir, 'development.yaml'), `${JSON.stringify(config, null, 2)}\n`);
  const child = spawn(options.binary, ['--root', options.dir, '--config', 'config', '--env', 'development', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Temporal Web exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/api/v1/settings`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`Temporal Web did not answer on ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, stop: () => stopChild(child) };
}
