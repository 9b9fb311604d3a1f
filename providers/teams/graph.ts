import { sanitise } from '../shared/sanitise';
import { outcomeFromError, outcomeFromResponse } from '../http/outcome';
import type { GuardedHttpClient, OutboundResponse } from '../types';
import type { TeamsConnection } from './config';
import { forgetToken, getToken, parseJson, type FailedOutcome } from './token';

/** What a Graph call came to: a response to read, or an outcome that ends the attempt. */
export type GraphResult = { ok: true; res: OutboundResponse } | { ok: false; outcome: FailedOutcome };

/** One Graph request, relative to the connection's graphBaseUrl (e.g. `/teams`), or a nextLink. */
export interface GraphCall {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

/** Why Graph refuses channel posts with app credentials outside of message import (migration) mode. */
export const APP_ONLY_REFUSED =
  'Microsoft Graph accepts channel messages with app-only (client credentials) tokens only for message import ' +
  '(migration); use the Workflows webhook mode for this channel';

const CHANNEL_GONE =
  'The Teams team or channel no longer exists, or the app can no longer see it (Microsoft Graph 404): ' +
  'pick the channel again in the subscription';

/** `{error: {code, message}}` of a Graph error body. */
export function graphError(body: string): { code?: string; message?: string } {
  const error = (parseJson(body) as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    code: typeof error?.code === 'string' ? error.code : undefined,
    message: typeof error?.message === 'string' ? error.message : undefined,
  };
}

/**
 * Classifies a failed Graph answer. 401 and 403 are permanent with a readable reason (app-only
 * posting refused, missing permission, not a member); 404 is permanent and pauses (team or channel
 * gone); 429, 503 and other 5xx are retryable with Retry-After; the rest per outcomeFromResponse.
 */
export function classifyGraphResponse(res: OutboundResponse, secrets: string[]): FailedOutcome {
  const base = outcomeFromResponse(res, { secrets }) as FailedOutcome;
  const { code, message } = graphError(res.body);
  const detail = sanitise(`${code ?? `HTTP ${res.status}`}${message ? `: ${message}` : ''}`, secrets, 300);
  const error = (reason: string) => sanitise(`Microsoft Graph ${res.status} ${reason} (${detail})`, secrets, 500);
  const withCode = code ? { errorCode: code } : {};
  if (base.kind === 'retryable') return { ...base, ...withCode, error: error('is busy or failing; will retry') };
  if (res.status === 401) {
    const appOnly = /import purposes|application-only context/i.test(message ?? '');
    return { ...base, ...withCode, error: appOnly ? `${APP_ONLY_REFUSED} (${detail})` : error('refused the app token') };
  }
  if (res.status === 403) {
    return { ...base, ...withCode, error: error('refused: the app lacks a permission or is not a member of this team or channel') };
  }
  if (res.status === 404) return { ...base, ...withCode, error: error('could not find the team, channel or message'), pauseReason: CHANNEL_GONE };
  return { ...base, ...withCode, error: error('rejected the request') };
}

function urlOf(conn: TeamsConnection, path: string): string {
  return /^https?:\/\//i.test(path) ? path : `${conn.graphBaseUrl}${path}`;
}

/**
 * Sends one Graph request with the app token. A 401 InvalidAuthenticationToken (token expired or
 * revoked early) drops the cached token and tries once more with a fresh one. Non-2xx answers are
 * returned as responses; only token and transport failures become outcomes here.
 */
export async function graphRequest(http: GuardedHttpClient, conn: TeamsConnection, call: GraphCall): Promise<GraphResult> {
  const secrets = [conn.clientSecret];
  for (let attempt = 0; ; attempt++) {
    const token = await getToken(http, conn);
    if (!token.ok) return token;
    let res: OutboundResponse;
    try {
      res = await http.request({
        method: call.method,
        url: urlOf(conn, call.path),
        headers: {
          authorization: `Bearer ${token.token}`,
          accept: 'application/json',
          ...(call.body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        },
        body: call.body,
      });
    } catch (err) {
      return { ok: false, outcome: outcomeFromError(err, [...secrets, token.token]) as FailedOutcome };
    }
    if (res.status === 401 && attempt === 0 && graphError(res.body).code === 'InvalidAuthenticationToken') {
      forgetToken(conn);
      continue;
    }
    return { ok: true, res };
  }
}

/** One page of a Graph collection. */
interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * Every item of a Graph collection, following `@odata.nextLink` on the same origin for up to
 * `maxPages` pages. Throws an Error with a sanitised, readable message on failure (options/test).
 */
export async function listAll<T>(http: GuardedHttpClient, conn: TeamsConnection, path: string, maxPages = 10): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  const origin = new URL(conn.graphBaseUrl).origin;
  let next: string | undefined = path;
  for (let page = 0; next && page < maxPages; page++) {
    const result = await graphRequest(http, conn, { method: 'GET', path: next });
    if (!result.ok) throw new Error(result.outcome.error);
    if (result.res.status !== 200) throw new Error(classifyGraphResponse(result.res, [conn.clientSecret]).error);
    const body = parseJson(result.res.body) as Page<T> | undefined;
    if (!body || !Array.isArray(body.value)) throw new Error(`Microsoft Graph answered ${path} without a value list`);
    items.push(...body.value);
    const link = body['@odata.nextLink'];
    // a nextLink elsewhere is not followed: the token is only for Graph
    next = typeof link === 'string' && safeOrigin(link) === origin ? link : undefined;
  }
  return { items, more: next !== undefined };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
