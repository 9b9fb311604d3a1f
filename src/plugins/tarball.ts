import path from 'node:path';
import zlib from 'node:zlib';
import type { PluginManifest } from './unpack';

/** Most entries (files and folders) a plugin package may hold. */
const MAX_PLUGIN_ENTRIES = 10_000;

/** Why a tarball is refused before anything of it is written to disk (422 naming the field). */
export class TarballRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballRefused';
  }
}

const BLOCK = 512;

function text(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) throw new TarballRefused('an entry has a size in base-256 (over 8 GiB)');
  const s = text(block, start, length).trim();
  const n = s === '' ? 0 : parseInt(s, 8);
  if (!Number.isFinite(n) || n < 0) throw new TarballRefused('an entry header is malformed');
  return n;
}

/** `path=...` and `size=...` of a pax extended header. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) throw new TarballRefused('a pax header is malformed');
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** The entry's path inside `package/`, or a refusal: absolute, `..`, or outside the package folder. */
function packagePath(name: string): string {
  if (name.includes('\0') || name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new TarballRefused(`entry "${name.slice(0, 200)}" has an absolute path`);
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new TarballRefused(`entry "${name.slice(0, 200)}" leaves the package (..)`);
  if (segments[0] !== 'package') throw new TarballRefused(`entry "${name.slice(0, 200)}" is outside the package/ folder`);
  return segments.slice(1).join('/');
}

/**
 * Checks a plugin tarball in memory before anything is unpacked: it decompresses to at most `maxUnpackedBytes`
 * (a gzip bomb stops there, without using more memory), holds at most MAX_PLUGIN_ENTRIES entries, all of them
 * regular files or folders under `package/` (no symlink, hard link, device, `..` or absolute path), and its
 * package.json names a `main` inside the package. Returns the manifest; throws TarballRefused otherwise.
 */
export function inspectTarball(bytes: Buffer, maxUnpackedBytes: number): PluginManifest & { main: string } {
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(bytes, { maxOutputLength: maxUnpackedBytes });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TarballRefused(`the package unpacks to more than ${maxUnpackedBytes} bytes`);
    }
    throw new TarballRefused('not a gzip-compressed npm package tarball');
  }
  let manifestText: string | undefined;
  let entries = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const type = String.fromCharCode(header[156] || 0x30);
    const size = pax.size !== undefined ? Number(pax.size) : octal(header, 124, 12);
    const dataStart = at + BLOCK;
    if (!Number.isSafeInteger(size) || dataStart + size > tar.length) throw new TarballRefused('an entry is cut short (truncated tarball)');
    const data = tar.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (type === 'g') continue; // global pax header: nothing we read
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = text(header, 345, 155);
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    pax = {};
    longName = undefined;
    if (++entries > MAX_PLUGIN_ENTRIES) throw new TarballRefused(`the package holds more than ${MAX_PLUGIN_ENTRIES} entries`);
    const inside = packagePath(name);
    if (type === '1' || type === '2') throw new TarballRefused(`entry "${name.slice(0, 200)}" is a ${type === '1' ? 'hard' : 'symbolic'} link`);
    if (type !== '0' && type !== '5' && type !== '7') throw new TarballRefused(`entry "${name.slice(0, 200)}" is not a regular file or folder`);
    if (inside === 'package.json' && type !== '5') manifestText = data.toString('utf8');
  }
  if (manifestText === undefined) throw new TarballRefused('not an npm package tarball (no package/package.json)');
  let pkg: { name?: unknown; version?: unknown; main?: unknown; dependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(manifestText) as typeof pkg;
  } catch {
    throw new TarballRefused('package/package.json is not valid JSON');
  }
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') throw new TarballRefused('package.json has no name or version');
  const main = typeof pkg.main === 'string' ? pkg.main : 'index.js';
  const normal = path.posix.normalize(main.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new TarballRefused(`package.json "main" (${main.slice(0, 200)}) points outside the package`);
  }
  return { name: pkg.name, version: pkg.version, dependencies: Object.keys(pkg.dependencies ?? {}), main };
}
