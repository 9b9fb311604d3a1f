import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the package.json of an unpacked plugin says. */
export interface PluginManifest {
  name: string;
  version: string;
  dependencies: string[];
}

/**
 * The plugin's entry file, resolved from `dir`'s package.json, when it lies inside `dir` (symbolic links
 * followed); throws otherwise: a `main` of `../x` or through a link would load code that was never checked.
 */
export function entryInside(dir: string): string {
  const root = fs.realpathSync(dir);
  const entry = fs.realpathSync(require.resolve(root));
  if (!entry.startsWith(root + path.sep)) throw new Error('package.json "main" resolves outside the plugin package');
  return entry;
}

/**
 * Unpacks a tarball to `dir` (its `package/` folder becomes `dir`) unless already there. Nothing in it is
 * run: no install scripts, no dependency install. Unpacked beside `dir` and renamed into place, so two
 * processes sharing a data folder never see half a plugin.
 */
export async function unpackTo(bytes: Buffer, dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'package.json'))) return;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    // GNU tar refuses members with `..` and strips leading `/`; owners and modes from the archive are not kept
    await run(['-xz', '-f', '-', '-C', tmp, '--no-same-owner', '--no-same-permissions', '--strip-components=1', 'package/'], bytes);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (!fs.existsSync(path.join(dir, 'package.json'))) throw err; // another process put it there first
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function run(args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('tar', args, { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`tar failed: ${String(stderr).split('\n')[0]}`)) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}
