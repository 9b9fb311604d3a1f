import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiTokenEntity, type Role } from '../../entities/api-token.entity';

/** Who is calling: a token's role and, for ingest tokens, the event owners it may post for. */
export interface AuthContext {
  tokenId: string;
  role: Role;
  /** Empty = any owner. */
  owners: string[];
  /** Set when the caller came in with an admin UI session cookie rather than a bearer token. */
  session?: { csrfToken: string; expiresAt: string };
}

/** SHA-256 hex of a token: the only form stored. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token with a prefix naming its role. */
export function generateToken(role: Role): string {
  return `ih_${role.slice(0, 3)}_${crypto.randomBytes(24).toString('base64url')}`;
}

/** Resolves bearer tokens: bootstrap tokens from the environment first, then stored hashes. */
export class TokenStore {
  private readonly bootstrap: { hash: Buffer; ctx: AuthContext }[] = [];

  constructor(
    private readonly dataSource: DataSource,
    env: { adminToken?: string; ingestToken?: string },
  ) {
    if (env.adminToken) this.bootstrap.push({ hash: Buffer.from(hashToken(env.adminToken), 'hex'), ctx: { tokenId: 'env:ADMIN_TOKEN', role: 'admin', owners: [] } });
    if (env.ingestToken) this.bootstrap.push({ hash: Buffer.from(hashToken(env.ingestToken), 'hex'), ctx: { tokenId: 'env:INGEST_TOKEN', role: 'ingest', owners: [] } });
  }

  /** The caller for a presented token, or undefined when it is unknown. */
  async resolve(token: string): Promise<AuthContext | undefined> {
    return this.resolveHash(hashToken(token));
  }

  /** The caller for a token's SHA-256 hex (what sessions keep), or undefined when no such token is valid now. */
  async resolveHash(hash: string): Promise<AuthContext | undefined> {
    const hashBuf = Buffer.from(hash, 'hex');
    for (const b of this.bootstrap) if (crypto.timingSafeEqual(b.hash, hashBuf)) return b.ctx;
    // looked up by hash: equality on a digest leaks nothing useful about the token
    const row = await this.dataSource.getRepository(ApiTokenEntity).findOneBy({ tokenHash: hash });
    return row ? { tokenId: row.id, role: row.role, owners: row.owners } : undefined;
  }
}
