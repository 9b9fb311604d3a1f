import { createHash } from 'node:crypto';
import { sanitise, sanitiseCode } from '../shared/sanitise';
import { outcomeFromError, outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, GuardedHttpClient, OutboundResponse } from '../types';
import type { TeamsConnection } from './config';

/** A failed attempt to get a token, as the delivery outcome it comes to. */
export type FailedOutcome = Exclude<DeliveryOutcome, { kind: 'success' }>;
export type TokenResult = { ok: true; token: string } | { ok: false; outcome: FailedOutcome };

interface CachedToken {
  token: string;
  /** Epoch ms after which a fresh token is fetched (a few minutes before it expires). */
  refreshAtMs: number;
}

/** Refresh this long before expiry, so a token never expires between fetch and use. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const MAX_CACHED_TOKENS = 200;

// In memory only, per process: tokens never reach the database, Temporal or logs.
const cache = new Map<string, CachedToken>();
const inflight = new Map<string, Promise<TokenResult>>();

/** Readable hints for the AADSTS codes an admin can fix. */
const AADSTS_HINTS: Record<string, string> = {
  '7000215': 'the client secret is wrong (use the secret Value, not its ID)',
  '7000222': 'the client secret has expired: create a new one and update the connection',
  '700016': 'no app with this client id exists in the tenant (or it was not consented there)',
  '90002': 'the tenant does not exist',
  '900023': 'the tenant id is not valid',
};

/** Cache key: the credentials themselves (hashed), so a rotated secret gets its own token. */
function keyOf(conn: TeamsConnection): string {
  return createHash('sha256')
    .update([conn.authorityBaseUrl, conn.tenantId, conn.clientId, conn.clientSecret].join('\u0000'))
    .digest('hex');
}

/** The `.default` scope of the Graph host (`https://graph.microsoft.com/.default`). */
function graphScope(graphBaseUrl: string): string {
  return `${new URL(graphBaseUrl).origin}/.default`;
}

/** The token endpoint of the connection's tenant. */
function tokenUrl(conn: Pick<TeamsConnection, 'authorityBaseUrl' | 'tenantId'>): string {
  return `${conn.authorityBaseUrl}/${encodeURIComponent(conn.tenantId)}/oauth2/v2.0/token`;
}

/** Forgets the cached token of these credentials (Graph said it is no longer valid). */
export function forgetToken(conn: TeamsConnection): void {
  cache.delete(keyOf(conn));
}

/** Empties the token cache (tests). */
export function clearTokenCache(): void {
  cache.clear();
}

/**
 * An app-only Graph token (client credentials grant), from the cache until shortly before it
 * expires; concurrent callers share one request. Failures come back as outcomes, never thrown.
 */
export async function getToken(http: GuardedHttpClient, conn: TeamsConnection, nowMs = Date.now()): Promise<TokenResult> {
  const key = keyOf(conn);
  const cached = cache.get(key);
  if (cached && cached.refreshAtMs > nowMs) return { ok: true, token: cached.token };
  const pending = inflight.get(key);
  if (pending) return pending;
  const request = fetchToken(http, conn).then((result) => {
    if (result.ok) {
      if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
      cache.set(key, { token: result.token, refreshAtMs: Date.now() + result.lifetimeMs });
    }
    return result.ok ? { ok: true as const, token: result.token } : result;
  });
  inflight.set(key, request);
  try {
    return await request;
  } finally {
    inflight.delete(key);
  }
}

async function fetchToken(http: GuardedHttpClient, conn: TeamsConnection): Promise<(TokenResult & { ok: false }) | { ok: true; token: string; lifetimeMs: number }> {
  const secrets = [conn.clientSecret];
  let res: OutboundResponse;
  try {
    res = await http.request({
      method: 'POST',
      url: tokenUrl(conn),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        client_id: conn.clientId,
        client_secret: conn.clientSecret,
        grant_type: 'client_credentials',
        scope: graphScope(conn.graphBaseUrl),
      }).toString(),
    });
  } catch (err) {
    return { ok: false, outcome: outcomeFromError(err, secrets) as FailedOutcome };
  }
  if (res.status === 200) {
    const body = parseJson(res.body) as { access_token?: unknown; expires_in?: unknown } | undefined;
    const token = typeof body?.access_token === 'string' ? body.access_token : undefined;
    if (!token) {
      return { ok: false, outcome: { kind: 'retryable', httpStatus: 200, errorCode: 'token_malformed', error: 'The token endpoint answered 200 without an access_token' } };
    }
    const expiresInMs = (typeof body?.expires_in === 'number' ? body.expires_in : Number(body?.expires_in) || 3600) * 1000;
    return { ok: true, token, lifetimeMs: Math.max(expiresInMs - REFRESH_MARGIN_MS, expiresInMs / 2) };
  }
  return { ok: false, outcome: classifyTokenResponse(res, secrets) };
}

/**
 * A failed token response: 429 and 5xx retryable (Retry-After honoured); OAuth errors (invalid_client,
 * unauthorized_client, invalid_request ...) permanent, with the AADSTS reason. No pause: the fix is
 * in the connection, and failed deliveries can be recovered once it is fixed.
 */
function classifyTokenResponse(res: OutboundResponse, secrets: string[]): FailedOutcome {
  const base = outcomeFromResponse(res, { secrets }) as FailedOutcome;
  const body = parseJson(res.body) as { error?: unknown; error_description?: unknown; error_codes?: unknown } | undefined;
  // the token endpoint's `error` becomes the attempt's error code: sanitised and bounded like any answer text
  const oauthError = typeof body?.error === 'string' ? sanitiseCode(body.error, secrets) : undefined;
  if (!oauthError) return { ...base, error: sanitise(`Token request failed: ${base.error}`, secrets) };
  const description = typeof body?.error_description === 'string' ? firstLine(body.error_description) : '';
  const aadsts = /AADSTS(\d+)/.exec(description)?.[1];
  const hint = aadsts ? AADSTS_HINTS[aadsts] : undefined;
  const error = sanitise(
    `Microsoft Entra ID refused the app credentials (HTTP ${res.status} ${oauthError}${hint ? `: ${hint}` : ''})` +
      (description ? `: ${description}` : ''),
    secrets,
    400,
  );
  if (base.kind === 'retryable') return { ...base, error, errorCode: oauthError };
  return { kind: 'permanent', httpStatus: res.status, errorCode: oauthError, error };
}

/** The first line of an AADSTS description, without the trace and correlation ids. */
function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].replace(/\s*Trace ID:.*$/i, '').trim();
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
