import { maskSecrets } from '../providers/shared/sanitise';
import { storableText } from '../providers/shared/storable';
import type { GuardedHttpClient, OutboundRequest, OutboundResponse } from '../providers/types';
import type { StoredExchange } from '../workflows/types';

/** One HTTP exchange of an attempt as it happened, in memory only (it may hold secrets until `storableExchanges`). */
export interface RawExchange {
  request: OutboundRequest;
  response?: OutboundResponse;
  /** The transport failure's message (OutboundError messages name at most the host). */
  error?: string;
  durationMs: number;
}

/** How much of each body is kept by default (ATTEMPT_BODY_MAX_BYTES). */
export const DEFAULT_ATTEMPT_BODY_MAX_BYTES = 64 * 1024;

/** At most this many exchanges are kept per attempt (a provider makes one to three: a token, a lookup, the call). */
const MAX_EXCHANGES_PER_ATTEMPT = 10;

/**
 * The guarded client as one attempt's provider sees it: every request passes through unchanged, and a copy
 * of it and its answer (or failure) is pushed onto `sink`. Nothing is masked here; `storableExchanges` does.
 */
export function recordingClient(http: GuardedHttpClient, sink: RawExchange[]): GuardedHttpClient {
  return {
    async request(req: OutboundRequest): Promise<OutboundResponse> {
      const started = performance.now();
      const exchange: RawExchange = { request: { ...req, headers: { ...(req.headers ?? {}) } }, durationMs: 0 };
      if (sink.length < MAX_EXCHANGES_PER_ATTEMPT) sink.push(exchange);
      try {
        const res = await http.request(req);
        exchange.response = res;
        exchange.durationMs = res.durationMs;
        return res;
      } catch (err) {
        exchange.error = err instanceof Error ? err.message : String(err);
        exchange.durationMs = Math.round(performance.now() - started);
        throw err;
      }
    },
    ...(http.resolveHost ? { resolveHost: (h: string) => http.resolveHost!(h) } : {}),
  };
}

/** Header names whose values are credentials, whatever the value looks like. */
const SECRET_HEADER = /(^|-)(authorization|cookie|set-cookie|token|secret|password|passwd|api-?key|apikey|auth|credential|session)(-|$)/i;

/** Masked value of a credential header: the scheme stays (`Bearer ***`), the rest goes. */
function maskHeaderValue(value: string): string {
  const scheme = /^(bearer|basic|bot|token|digest|geniekey|sharedaccesssignature)\s+/i.exec(value);
  return scheme ? `${scheme[1]} ***` : '***';
}

function maskedHeaders(headers: Record<string, string> | undefined, secrets: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = storableText(name, 200);
    const v = String(value);
    out[key] = storableText(SECRET_HEADER.test(name) ? maskHeaderValue(v) : maskSecrets(v, secrets), 8_000);
  }
  return out;
}

/**
 * A URL with its secrets masked (see maskSecrets) that still shows where it went: when a whole URL is itself a
 * secret (a Slack or Teams webhook URL), its origin stays and the rest becomes `***`.
 */
export function maskedUrl(url: string, secrets: string[]): string {
  // the token-bearing path rules first, so a secret URL keeps its readable part (hooks.slack.com/services/***)
  const masked = maskSecrets(maskSecrets(url), secrets);
  let origin: string | undefined;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = undefined;
  }
  if (origin && origin !== 'null' && !masked.startsWith(origin) && maskSecrets(origin, secrets) === origin) return `${origin}/***`;
  return storableText(masked, 8_000);
}

/** Extra characters masked beyond the kept size, so that a secret cut by the first cut is still recognised whole. */
const MASK_MARGIN_CHARS = 16 * 1024;

/** A body masked and cut to at most `maxBytes` UTF-8 bytes, with its size as sent or received. */
function maskedBody(body: string | Buffer, secrets: string[], maxBytes: number): { body: string; bytes: number; truncated: boolean } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  // cut first (bounded work on a large answer), mask, then cut to size: a secret crossing the kept size is masked whole
  // storable before the cut (an escaped NUL takes six characters), so what is kept stays within maxBytes
  const masked = storableText(maskSecrets(text.length > maxBytes + MASK_MARGIN_CHARS ? text.slice(0, maxBytes + MASK_MARGIN_CHARS) : text, secrets));
  const buf = Buffer.from(masked, 'utf8');
  if (buf.length <= maxBytes && text.length <= maxBytes + MASK_MARGIN_CHARS) return { body: masked, bytes, truncated: false };
  // a cut inside a multi-byte character decodes to U+FFFD: drop that tail
  const cut = buf.subarray(0, maxBytes).toString('utf8').replace(/\ufffd+$/, '');
  return { body: cut, bytes, truncated: true };
}

/**
 * What is kept of an attempt's exchanges: method, URL, headers and body of each request, status, headers and
 * body of each response, every part masked with the delivery's known secrets and the sanitiser's rules (the
 * one sanitiser, providers/shared/sanitise.ts), bodies cut to `maxBodyBytes`, every text storable.
 */
export function storableExchanges(raw: RawExchange[], secrets: string[], maxBodyBytes: number): StoredExchange[] {
  return raw.map((x) => {
    const req = x.request;
    const reqBody = req.body === undefined ? undefined : maskedBody(req.body, secrets, maxBodyBytes);
    const stored: StoredExchange = {
      request: {
        method: req.method,
        url: maskedUrl(req.url, secrets),
        headers: maskedHeaders(req.headers, secrets),
        ...(reqBody ? { body: reqBody.body, bodyBytes: reqBody.bytes, bodyTruncated: reqBody.truncated } : {}),
      },
      durationMs: Math.max(0, Math.round(x.durationMs)),
    };
    if (x.response) {
      const resBody = maskedBody(x.response.body, secrets, maxBodyBytes);
      stored.response = {
        status: x.response.status,
        headers: maskedHeaders(x.response.headers, secrets),
        body: resBody.body,
        bodyBytes: resBody.bytes,
        bodyTruncated: resBody.truncated,
      };
    }
    if (x.error !== undefined) stored.error = storableText(maskSecrets(x.error, secrets), 2_000);
    return stored;
  });
}
