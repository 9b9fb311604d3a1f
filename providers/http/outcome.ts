import { safeErrorMessage, sanitise } from '../shared/sanitise';
import type { DeliveryOutcome, OutboundResponse } from '../types';
import { OutboundError } from './guarded-client';

/** Longest body excerpt put into an outcome's error, in characters. */
const BODY_EXCERPT_CHARS = 200;
const ALWAYS_RETRYABLE = new Set([408, 425, 429]);
const GONE_REASON = 'The receiver answered 410 Gone: the endpoint was removed';

/** Options of outcomeFromResponse. */
export interface OutcomeOptions {
  /** Statuses a provider knows to be transient beyond 408, 425, 429 and 5xx (e.g. 409 for a lock). */
  extraRetryableStatuses?: number[];
  /** Clock for HTTP-date Retry-After values, epoch milliseconds. Defaults to Date.now(). */
  nowMs?: number;
  /** Secret values of this delivery, masked in the body excerpt. */
  secrets?: Iterable<string>;
}

/**
 * Classifies an HTTP response: 2xx success; 408, 425, 429, 5xx (and extras) retryable with
 * `retryAfterMs` from Retry-After; 410 permanent and pausing; 3xx (never followed) and other 4xx
 * permanent. The error is one line: the status and a sanitised excerpt of the body.
 */
export function outcomeFromResponse(res: OutboundResponse, opts: OutcomeOptions = {}): DeliveryOutcome {
  const status = res.status;
  if (status >= 200 && status < 300) return { kind: 'success', httpStatus: status };

  const excerpt = sanitise(res.body, opts.secrets, BODY_EXCERPT_CHARS);
  const error = (detail: string) => sanitise(`HTTP ${status}: ${detail}`, opts.secrets, BODY_EXCERPT_CHARS + 100);

  if (status >= 300 && status < 400) {
    const location = locationOrigin(res.headers['location']);
    const detail = `redirects are not followed${location ? ` (Location: ${location})` : ''}`;
    return { kind: 'permanent', error: error(excerpt ? `${detail}; ${excerpt}` : detail), httpStatus: status };
  }
  if (status === 410) {
    return { kind: 'permanent', error: error(excerpt || 'Gone'), httpStatus: status, pauseReason: GONE_REASON };
  }
  const retryable =
    ALWAYS_RETRYABLE.has(status) || (status >= 500 && status < 600) || !!opts.extraRetryableStatuses?.includes(status);
  // Anything outside 2xx-5xx is a broken hop, not a verdict from the receiver: try again.
  if (retryable || status < 200 || status >= 600) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], opts.nowMs ?? Date.now());
    return {
      kind: 'retryable',
      error: error(excerpt || 'no body'),
      httpStatus: status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { kind: 'permanent', error: error(excerpt || 'no body'), httpStatus: status };
}

const HTTP_DATE = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*, .+ gmt$/i;

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"). Undefined for absent, malformed, negative or past values.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (!HTTP_DATE.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at) || at < nowMs) return undefined; // a past date is clock skew, not advice
  return at - nowMs;
}

/**
 * Classifies a failure with no HTTP response. OutboundError: retryable per its flag
 * (ssrf_blocked, invalid_url are permanent), `errorCode` = its code. Anything else: retryable,
 * with a message serialised by allowlist and sanitised.
 */
export function outcomeFromError(err: unknown, secrets?: Iterable<string>): DeliveryOutcome {
  if (err instanceof OutboundError) {
    const error = sanitise(err.message, secrets);
    return err.retryable
      ? { kind: 'retryable', error, errorCode: err.code }
      : { kind: 'permanent', error, errorCode: err.code };
  }
  return { kind: 'retryable', error: safeErrorMessage(err, secrets) };
}

/** Scheme and host of a redirect target: enough to tell the admin where it moved, nothing secret. */
function locationOrigin(location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    const url = new URL(location);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined; // relative or malformed: leave it out
  }
}
