import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

/** The standard Google API error body: `{"error": {"code", "message", "status"}}`. */
export interface GoogleError {
  message?: string;
  status?: string;
}

/** Reads a Google API error body; absent or non-string fields are left out. */
function parseGoogleError(body: string): GoogleError {
  try {
    const parsed: unknown = JSON.parse(body);
    const error = parsed && typeof parsed === 'object' ? (parsed as { error?: unknown }).error : undefined;
    if (!error || typeof error !== 'object') return {};
    const { message, status } = error as Record<string, unknown>;
    return { ...(typeof message === 'string' && message ? { message } : {}), ...(typeof status === 'string' && status ? { status } : {}) };
  } catch {
    return {};
  }
}

export const PAUSE_REASONS = {
  notFound:
    'Google Chat answered 404 Not Found: the incoming webhook or its space was deleted. Create a webhook in the space, put its URL on the subscription, then enable it again.',
  unauthorized: (status: number) =>
    `Google Chat refused the webhook's credentials (HTTP ${status}): the webhook was removed or its token is wrong. Put a current webhook URL on the subscription, then enable it again.`,
} as const;

/**
 * Classifies a Google Chat webhook answer: 2xx success with the message `name` as externalId; 429 and 5xx
 * retryable (Retry-After honoured); 404 permanent and pausing (webhook or space gone); 401/403 permanent
 * and pausing (credentials revoked); 400 and other 4xx permanent. Errors carry Google's message, sanitised.
 */
export function classifyChatResponse(res: OutboundResponse, secrets: Iterable<string>): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { secrets });
  if (outcome.kind === 'success') {
    const name = messageName(res.body);
    return name ? { ...outcome, externalId: name } : outcome;
  }
  const google = parseGoogleError(res.body);
  const error = google.message
    ? sanitise(`HTTP ${res.status} from Google Chat${google.status ? ` (${google.status})` : ''}: ${google.message}`, secrets, 400)
    : outcome.error;
  if (outcome.kind === 'retryable') return { ...outcome, error, errorCode: res.status === 429 ? 'rate_limited' : 'server_error' };
  if (res.status === 404) return { ...outcome, error, errorCode: 'not_found', pauseReason: PAUSE_REASONS.notFound };
  if (res.status === 401 || res.status === 403) return { ...outcome, error, errorCode: 'unauthorized', pauseReason: PAUSE_REASONS.unauthorized(res.status) };
  return { ...outcome, error, errorCode: res.status === 400 ? 'invalid_argument' : outcome.errorCode };
}

/** The `name` (`spaces/<S>/messages/<M>`) of a Chat Message, or undefined. */
function messageName(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const name = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>).name : undefined;
    return typeof name === 'string' && /^spaces\/[^/]+\/messages\/[^/]+$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
