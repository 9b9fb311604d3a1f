import type { Hub, JsonResponse } from './hub';

/** A signed-in admin UI session as a browser holds it. */
export interface UiSession {
  cookie: string;
  csrfToken: string;
  setCookie: string;
  role: string;
}

/** Signs in with `token` through POST /session; throws unless it answers 201. */
export async function signIn(hub: Hub, token: string, headers: Record<string, string> = {}): Promise<UiSession> {
  const res = await fetch(`${hub.baseUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  const body = (await res.json()) as { csrfToken: string; role: string };
  if (res.status !== 201) throw new Error(`sign-in: ${res.status} ${JSON.stringify(body)}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0], csrfToken: body.csrfToken, setCookie, role: body.role };
}

/** Calls the API as the browser would with a session: the cookie, and the CSRF header unless `csrf` is null. */
export async function callWithSession<T = any>(
  hub: Hub,
  s: UiSession,
  method: string,
  path: string,
  body?: unknown,
  csrf: string | null = s.csrfToken,
): Promise<JsonResponse<T>> {
  return hub.call(method, path, body, null, { cookie: s.cookie, ...(csrf !== null ? { 'x-csrf-token': csrf } : {}) });
}
