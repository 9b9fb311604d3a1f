import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PROJECT_ROOT } from './stack';

/** A package tarball as `npm pack` makes it, with its sha512 integrity. */
export interface PackedPlugin {
  name: string;
  version: string;
  file: string;
  bytes: Buffer;
  integrity: string;
}

/** `npm pack` of a folder (relative to the project, or absolute) into a temp dir. */
export function npmPack(folder: string): PackedPlugin {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-pack-'));
  const [info] = JSON.parse(
    execFileSync('npm', ['pack', path.resolve(PROJECT_ROOT, folder), '--pack-destination', out, '--json', '--ignore-scripts'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { name: string; version: string; filename: string }[];
  const file = path.join(out, path.basename(info.filename));
  const bytes = fs.readFileSync(file);
  return { name: info.name, version: info.version, file, bytes, integrity: `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}` };
}

/** A package folder written to a temp dir from files, then packed: for plugins made up by a test. */
export function packFiles(files: Record<string, string>): PackedPlugin {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ihub-plugin-src-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return npmPack(dir);
}

/**
 * A registry-shaped static server: `/<name>` answers the packument (scoped names as `@scope%2fname`, as npm
 * asks for them), `/<name>/-/<file>.tgz` the tarball. `integrityOverride` serves a wrong integrity on purpose.
 */
export class LocalRegistry {
  private server?: http.Server;
  url = '';
  readonly packages = new Map<string, { pkg: PackedPlugin; integrityOverride?: string }>();
  readonly requests: string[] = [];

  add(pkg: PackedPlugin, integrityOverride?: string): void {
    this.packages.set(pkg.name, { pkg, integrityOverride });
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const url = decodeURIComponent(req.url ?? '/');
      this.requests.push(url);
      for (const { pkg, integrityOverride } of this.packages.values()) {
        const tarPath = `/${pkg.name}/-/${path.basename(pkg.file)}`;
        if (url === `/${pkg.name}`) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({
            name: pkg.name,
            'dist-tags': { latest: pkg.version },
            versions: { [pkg.version]: { name: pkg.name, version: pkg.version, dist: { tarball: `${this.url}${tarPath}`, integrity: integrityOverride ?? pkg.integrity } } },
          }));
          return;
        }
        if (url === tarPath) {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(pkg.bytes);
          return;
        }
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"Not found"}');
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** One member of a hand-made tarball: a file (default), a folder, or a link to `linkname`. */
export interface CraftedEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  body?: string | Buffer;
  linkname?: string;
}

/**
 * A gzip-compressed ustar archive written byte by byte, so a test can make what `npm pack` never would
 * (links, `../` names, huge or many members). Names up to 100 bytes.
 */
export function craftTarball(entries: CraftedEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
    const header = Buffer.alloc(512);
    const put = (value: string, at: number, length: number) => header.write(value, at, length, 'utf8');
    put(e.name, 0, 100);
    put(e.type === 'dir' ? '0000755\0' : '0000644\0', 100, 8);
    put('0000000\0', 108, 8);
    put('0000000\0', 116, 8);
    put(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 12);
    put(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 12);
    put({ file: '0', dir: '5', symlink: '2', hardlink: '1' }[e.type ?? 'file'], 156, 1);
    if (e.linkname) put(e.linkname, 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    header.fill(0x20, 148, 156); // checksum field counts as spaces
    let sum = 0;
    for (const b of header) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}
