import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressPolicy } from '../../providers/http/address-policy';
import { guardedLookup } from '../../providers/http/guarded-client';

/** A plugin package as fetched or uploaded: its bytes and their verified integrity. */
export interface PluginTarball {
  bytes: Buffer;
  /** `sha512-<base64>` of the bytes. */
  integrity: string;
}

/** Why a package could not be fetched; `field` names the request field at fault. */
export class PackageSourceError extends Error {
  constructor(
    readonly status: 400 | 404 | 422 | 502,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'PackageSourceError';
  }
}

export function sha512Integrity(bytes: Buffer): string {
  return `sha512-${crypto.createHash('sha512').update(bytes).digest('base64')}`;
}

/** The registry URL of a package document: scoped names keep the `@` and encode the `/`. */
function packumentUrl(registry: string, name: string): string {
  return `${registry}/${name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name)}`;
}

/** Largest packument read (a package's document lists every version). */
const MAX_PACKUMENT_BYTES = 32 * 1024 * 1024;

/** What the registry answered, the body bounded. */
interface Fetched {
  status: number;
  body: Buffer;
}

class TooLarge extends Error {}

/**
 * GET `url` under the outbound address policy (the address checked is the one connected to; an IP literal is
 * checked as it is), without following redirects (a 3xx is an answer), the body read up to `maxBytes`.
 */
function fetchGuarded(url: URL, policy: AddressPolicy, timeoutMs: number, maxBytes: number, accept: string): Promise<Fetched> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    const reason = policy.blockedReason(host, host);
    if (reason) return Promise.reject(new Error(`${host} is not allowed (${reason})`));
  }
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept }, lookup: guardedLookup(policy), agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new TooLarge(`over ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Fetches `name@version` from an npm registry: the packument's `dist.tarball` (only from the registry's own
 * origin) checked against its `dist.integrity` sha512 before anything is unpacked. Both requests obey the
 * outbound address policy (OUTBOUND_ALLOWED_NETWORKS, as provider requests do) and follow no redirect.
 */
export async function fetchFromRegistry(registry: string, name: string, version: string, maxBytes: number, policy: AddressPolicy): Promise<PluginTarball> {
  let res: Fetched;
  try {
    res = await fetchGuarded(new URL(packumentUrl(registry, name)), policy, 30_000, MAX_PACKUMENT_BYTES, 'application/json');
  } catch (err) {
    throw new PackageSourceError(502, 'package', `The registry could not be reached: ${(err as Error).message}`);
  }
  if (res.status === 404) throw new PackageSourceError(404, 'package', `Package ${name} is not in the registry`);
  if (res.status >= 300 && res.status < 400) throw new PackageSourceError(502, 'package', `The registry redirected (${res.status}); redirects are not followed`);
  if (res.status < 200 || res.status >= 300) throw new PackageSourceError(502, 'package', `The registry answered ${res.status} for ${name}`);
  let doc: { versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }> } | undefined;
  try {
    doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
  } catch {
    doc = undefined;
  }
  const dist = doc?.versions?.[version]?.dist;
  if (!dist) throw new PackageSourceError(404, 'version', `Package ${name} has no version ${version}`);
  const sha512 = (dist.integrity ?? '').split(/\s+/).find((i) => i.startsWith('sha512-'));
  if (!sha512) throw new PackageSourceError(422, 'version', `${name}@${version} has no sha512 integrity in the registry`);
  if (!dist.tarball || new URL(dist.tarball, registry).origin !== new URL(registry).origin) {
    throw new PackageSourceError(422, 'version', `${name}@${version}: the tarball is not served by the registry itself`);
  }
  let tar: Fetched;
  try {
    tar = await fetchGuarded(new URL(dist.tarball, registry), policy, 60_000, maxBytes, 'application/octet-stream');
  } catch (err) {
    if (err instanceof TooLarge) throw new PackageSourceError(422, 'version', `The tarball is over ${maxBytes} bytes`);
    throw new PackageSourceError(502, 'version', `The tarball could not be fetched: ${(err as Error).message}`);
  }
  if (tar.status >= 300 && tar.status < 400) throw new PackageSourceError(502, 'version', `The registry redirected the tarball (${tar.status}); redirects are not followed`);
  if (tar.status < 200 || tar.status >= 300) throw new PackageSourceError(502, 'version', `The registry answered ${tar.status} for the tarball of ${name}@${version}`);
  const integrity = sha512Integrity(tar.body);
  if (integrity !== sha512) throw new PackageSourceError(422, 'version', `${name}@${version}: the tarball does not match the registry's integrity`);
  return { bytes: tar.body, integrity };
}

/** An uploaded tarball (base64): decoded, bounded, its integrity computed. */
export function fromUpload(base64: string, maxBytes: number): PluginTarball {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new PackageSourceError(400, 'tarball', 'The tarball is empty or not base64');
  if (bytes.length > maxBytes) throw new PackageSourceError(422, 'tarball', `The tarball is over ${maxBytes} bytes`);
  return { bytes, integrity: sha512Integrity(bytes) };
}
