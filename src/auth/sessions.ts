import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashToken, type AuthContext, type TokenStore } from './tokens';

/** Name of the admin UI's session cookie. */
export const SESSION_COOKIE = 'ih_session';

/** Roles that may sign in to the admin UI (ingest tokens are for services). */
const UI_ROLES = new Set(['admin', 'manager', 'viewer']);

/** A new session as sign-in returns it: the cookie value goes only into Set-Cookie. */
export interface NewSession {
  secret: string;
  auth: AuthContext & { session: { csrfToken: string; expiresAt: string } };
}

/**
 * The CSRF token of a session: derived from the cookie secret, so nothing more is stored, and only a page
 * that can read our own responses (same origin) ever learns it.
 */
function csrfTokenOf(secret: string): string {
  return crypto.createHash('sha256').update(`csrf:${secret}`, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

/**
 * Admin UI sessions in PostgreSQL, keyed by the SHA-256 of the cookie value. A session keeps the hash of the
 * API token that opened it and is valid only while that token is (revoking the token ends its sessions).
 */
export class SessionStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: TokenStore,
    private readonly ttlMs: number,
  ) {}

  /** Signs in with an API token: undefined for an unknown token, 'forbidden' for a role the UI does not serve. */
  async create(token: string): Promise<NewSession | undefined | 'forbidden'> {
    const tokenHash = hashToken(token);
    const auth = await this.tokens.resolveHash(tokenHash);
    if (!auth) return undefined;
    if (!UI_ROLES.has(auth.role)) return 'forbidden';
    const secret = crypto.randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.ttlMs);
    await this.dataSource.query(`DELETE FROM ui_sessions WHERE expires_at < now()`);
    await this.dataSource.query(`INSERT INTO ui_sessions (id, token_hash, expires_at) VALUES ($1, $2, $3)`, [hashToken(secret), tokenHash, expiresAt]);
    return { secret, auth: { ...auth, session: { csrfToken: csrfTokenOf(secret), expiresAt: expiresAt.toISOString() } } };
  }

  /** The caller behind a session cookie, or undefined when it is unknown, expired or its token was revoked. */
  async resolve(secret: string): Promise<AuthContext | undefined> {
    const rows: { token_hash: string; expires_at: Date }[] = await this.dataSource.query(
      `SELECT token_hash, expires_at FROM ui_sessions WHERE id = $1 AND expires_at > now()`,
      [hashToken(secret)],
    );
    if (!rows.length) return undefined;
    const auth = await this.tokens.resolveHash(rows[0].token_hash.trim());
    if (!auth || !UI_ROLES.has(auth.role)) return undefined;
    return { ...auth, session: { csrfToken: csrfTokenOf(secret), expiresAt: new Date(rows[0].expires_at).toISOString() } };
  }

  /** Signs out: the session is gone for every API process. */
  async delete(secret: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM ui_sessions WHERE id = $1`, [hashToken(secret)]);
  }
}

/**
 * The value of cookie `name` in a Cookie header; undefined when absent or not validly percent-encoded
 * (`%zz`): a cookie the hub never set is no session, so the request goes on as one without it.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Set-Cookie for a session: HttpOnly, SameSite=Strict, Secure when the request came over https. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [`${SESSION_COOKIE}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}
