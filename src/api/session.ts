import { z } from 'zod';
import { ROLES } from '../../entities/api-token.entity';
import { readCookie, SESSION_COOKIE, sessionCookie, type SessionStore } from '../auth/sessions';
import { HttpProblem } from '../http/problem';
import type { ApiRoutes } from '../http/routes';
import type { Request } from 'express';

const sessionView = z
  .object({
    role: z.enum(ROLES),
    tokenId: z.string(),
    expiresAt: z.string(),
    csrfToken: z.string().meta({ description: 'Send as X-CSRF-Token on every request other than GET made with the session cookie.' }),
  })
  .meta({ id: 'Session' });

// behind a TLS-terminating proxy the request itself is plain http; the header can only make the cookie stricter
const overHttps = (req: Request) => req.secure || req.headers['x-forwarded-proto'] === 'https';

/** `/session`: the admin UI signs in with an API token and then uses an HttpOnly cookie. */
export function sessionRoutes(routes: ApiRoutes, sessions: SessionStore, ttlMs: number): void {
  const ui = ['admin', 'manager', 'viewer'] as const;
  routes.add({
    method: 'post', path: '/session', summary: 'Sign in to the admin UI with an API token (sets the session cookie)', tag: 'session',
    roles: 'public',
    body: z.object({ token: z.string().min(1).max(500) }).strict(),
    responses: { 201: { description: 'Signed in; Set-Cookie carries the session', schema: sessionView } },
    handler: async ({ body, req }) => {
      const s = await sessions.create(body.token);
      if (!s) throw new HttpProblem(401, 'Unauthorized', 'Unknown token', [{ path: 'body.token', message: 'no such token (or it was revoked)' }]);
      if (s === 'forbidden') {
        throw new HttpProblem(403, 'Forbidden', 'Ingest tokens cannot sign in to the admin UI', [{ path: 'body.token', message: 'use an admin, manager or viewer token' }]);
      }
      const { tokenId, role, session } = s.auth;
      return {
        status: 201,
        headers: { 'Set-Cookie': sessionCookie(s.secret, Math.floor(ttlMs / 1000), overHttps(req)), 'Cache-Control': 'no-store' },
        body: { role, tokenId, expiresAt: session.expiresAt, csrfToken: session.csrfToken },
      };
    },
  });
  routes.add({
    method: 'get', path: '/session', summary: 'Whether a UI session is signed in, with its role and CSRF token', tag: 'session',
    // public, so that the UI's first look answers 200 either way (a 401 would be logged by the browser)
    roles: 'public',
    responses: { 200: { description: 'The session, or signedIn false', schema: z.union([sessionView.extend({ signedIn: z.literal(true) }), z.object({ signedIn: z.literal(false) })]) } },
    handler: async ({ req }) => {
      const secret = readCookie(req.headers.cookie, SESSION_COOKIE);
      const auth = secret ? await sessions.resolve(secret) : undefined;
      const body = auth?.session
        ? { signedIn: true, role: auth.role, tokenId: auth.tokenId, expiresAt: auth.session.expiresAt, csrfToken: auth.session.csrfToken }
        : { signedIn: false };
      return { status: 200, headers: { 'Cache-Control': 'no-store' }, body };
    },
  });
  routes.add({
    method: 'delete', path: '/session', summary: 'Sign out: the session ends on every API process', tag: 'session', roles: [...ui],
    responses: { 204: { description: 'Signed out; the cookie is cleared' } },
    handler: async ({ req }) => {
      const secret = readCookie(req.headers.cookie, SESSION_COOKIE);
      if (secret) await sessions.delete(secret);
      return { status: 204, headers: { 'Set-Cookie': sessionCookie('', 0, overHttps(req)) } };
    },
  });
}
