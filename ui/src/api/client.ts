import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema.gen';

let csrfToken: string | undefined;

/** Remembers the session's CSRF token; every request other than GET sends it. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

let onSignedOut: () => void = () => {};
/** Called when the API answers 401 (session ended, token revoked). */
export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith('/api/v1/session')) onSignedOut();
    return response;
  },
};

/** The typed API client, generated from the OpenAPI document the API serves (same origin, cookie session). */
export const api = createClient<paths>({ baseUrl: '/api/v1', credentials: 'same-origin' });
api.use(session);
