import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { HOST_LOAD_TIMEOUT_MS, isPluginHostFailure, type PluginHostSettings } from './host-client';
import { PluginHost } from './remote-provider';
import { unpackTo } from './unpack';


/**
 * Loads a plugin tarball once in a trial plugin host (the same sandboxed child process it runs in once
 * installed) before it is installed anywhere: a plugin that exits, crashes or hangs while loading is refused
 * (`fatal`); a plain throw is not fatal (it is installed and listed as failed, like any load error).
 */
export async function vetPlugin(bytes: Buffer, settings: PluginHostSettings): Promise<{ fatal?: string; error?: string; providers?: string[] }> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugin-vet-')), 'package');
  const host = new PluginHost('vet', dir, { ...settings, maxCrashes: 1000 }, pino({ level: 'silent' }), () => undefined);
  try {
    await unpackTo(bytes, dir);
    const providers = await host.describe();
    return { providers: providers.map((p) => p.id) };
  } catch (err) {
    const message = (err as Error).message;
    if (isPluginHostFailure(err)) {
      const exited = /exited \(code (\d+)\)|was killed \((\w+)/.exec(message);
      if (exited) return { fatal: `the plugin ended the process while loading (${exited[1] !== undefined ? `exit code ${exited[1]}` : exited[2]})` };
      if (/did not load within/.test(message)) return { fatal: `the plugin did not finish loading within ${Math.max(HOST_LOAD_TIMEOUT_MS, settings.callTimeoutMs) / 1000} s` };
      return { fatal: message };
    }
    return { error: message };
  } finally {
    host.stop();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}
