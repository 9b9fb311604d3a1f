import crypto from 'node:crypto';

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

/**
 * Fetches `name@version` from an npm registry: the packument's `dist.tarball` (only from the registry's own
 * origin) checked against its `dist.integrity` sha512 before anything is unpacked.
 */
export async function fetchFromRegistry(registry: string, name: string, version: string, maxBytes: number): Promise<PluginTarball> {
  let res: Response;
  try {
    res = await fetch(packumentUrl(registry, name), { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new PackageSourceError(502, 'package', `The registry could not be reached: ${(err as Error).message}`);
  }
  if (res.status === 404) throw new PackageSourceError(404, 'package', `Package ${name} is not in the registry`);
  if (!res.ok) throw new PackageSourceError(502, 'package', `The registry answered ${res.status} for ${name}`);
  const doc = (await res.json().catch(() => undefined)) as { versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }> } | undefined;
  const dist = doc?.versions?.[version]?.dist;
  if (!dist) throw new PackageSourceError(404, 'version', `Package ${name} has no version ${version}`);
  const sha512 = (dist.integrity ?? '').split(/\s+/).find((i) => i.startsWith('sha512-'));
  if (!sha512) throw new PackageSourceError(422, 'version', `${name}@${version} has no sha512 integrity in the registry`);
  if (!dist.tarball || new URL(dist.tarball, registry).origin !== new URL(registry).origin) {
    throw new PackageSourceError(422, 'version', `${name}@${version}: the tarball is not served by the registry itself`);
  }
  let tar: Response;
  try {
    tar = await fetch(new URL(dist.tarball, registry), { signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new PackageSourceError(502, 'version', `The tarball could not be fetched: ${(err as Error).message}`);
  }
  if (!tar.ok) throw new PackageSourceError(502, 'version', `The registry answered ${tar.status} for the tarball of ${name}@${version}`);
  const bytes = await readBounded(tar, maxBytes);
  const integrity = sha512Integrity(bytes);
  if (integrity !== sha512) throw new PackageSourceError(422, 'version', `${name}@${version}: the tarball does not match the registry's integrity`);
  return { bytes, integrity };
}

/** An uploaded tarball (base64): decoded, bounded, its integrity computed. */
export function fromUpload(base64: string, maxBytes: number): PluginTarball {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new PackageSourceError(400, 'tarball', 'The tarball is empty or not base64');
  if (bytes.length > maxBytes) throw new PackageSourceError(422, 'tarball', `The tarball is over ${maxBytes} bytes`);
  return { bytes, integrity: sha512Integrity(bytes) };
}

async function readBounded(res: Response, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw new PackageSourceError(422, 'version', `The tarball is over ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
