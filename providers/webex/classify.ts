import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

/** Webex answers 423 Locked (with Retry-After) when a resource is briefly unavailable: retry it like a 429. */
const WEBEX_RETRYABLE = [423];

/** The parts of a Webex error body we show: `{message, errors: [{description}], trackingId}`. */
export interface WebexError {
  message?: string;
  trackingId?: string;
}

/** Reads a Webex error body; fields that are absent or not strings are left out. */
export function parseWebexError(res: Pick<OutboundResponse, 'body' | 'headers'>): WebexError {
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  const obj = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const errors = Array.isArray(obj.errors) ? obj.errors : [];
  const first = errors[0] && typeof errors[0] === 'object' ? (errors[0] as Record<string, unknown>).description : undefined;
  const message = typeof obj.message === 'string' && obj.message ? obj.message : typeof first === 'string' ? first : undefined;
  const trackingId = typeof obj.trackingId === 'string' ? obj.trackingId : res.headers['trackingid'];
  return { ...(message ? { message } : {}), ...(trackingId ? { trackingId } : {}) };
}

/** "HTTP 404 from Webex: <message> (trackingId …)", sanitised; undefined when the body says nothing readable. */
function describe(res: OutboundResponse, secrets: Iterable<string>): string | undefined {
  const { message, trackingId } = parseWebexError(res);
  if (!message) return undefined;
  return sanitise(`HTTP ${res.status} from Webex: ${message}${trackingId ? ` (trackingId ${trackingId})` : ''}`, secrets, 400);
}

/** The pause reasons a Webex answer can carry: the credential or the room is gone until an admin acts. */
export const PAUSE_REASONS = {
  unauthorized:
    'Webex rejected the bot token (HTTP 401: invalid, expired or revoked). Put a valid bot token on the connection, then enable the subscription again.',
  forbidden: (roomId: string) =>
    `Webex refused to let the bot post in room ${roomId} (HTTP 403): the bot is not a member of the room or may not post there. ` +
    'Add the bot to the space, then enable the subscription again.',
  notFound: (roomId: string) =>
    `Webex room ${roomId} was not found (HTTP 404): the space was deleted or the bot was removed from it. ` +
    'Add the bot to the space (or pick another room), then enable the subscription again.',
} as const;

/**
 * Classifies a Webex answer on top of the shared mapping: 2xx success with the message `id` as externalId;
 * 401 permanent and pausing (the token is bad for every room); 403/404 permanent and pausing (room gone or
 * bot not in it); 423 and 429 retryable with Retry-After; 5xx retryable; 400 and other 4xx permanent.
 */
export function classifyWebexResponse(res: OutboundResponse, roomId: string, secrets: Iterable<string>): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { extraRetryableStatuses: WEBEX_RETRYABLE, secrets });
  if (outcome.kind === 'success') {
    const id = messageId(res.body);
    return id ? { ...outcome, externalId: id } : outcome;
  }
  const error = describe(res, secrets) ?? outcome.error;
  if (outcome.kind === 'retryable') return { ...outcome, error };
  switch (res.status) {
    case 401:
      return { ...outcome, error, errorCode: 'webex_unauthorized', pauseReason: PAUSE_REASONS.unauthorized };
    case 403:
      return { ...outcome, error, errorCode: 'webex_forbidden', pauseReason: PAUSE_REASONS.forbidden(roomId) };
    case 404:
      return { ...outcome, error, errorCode: 'webex_not_found', pauseReason: PAUSE_REASONS.notFound(roomId) };
    default:
      return { ...outcome, error };
  }
}

/** The `id` of a Webex Message object, or undefined when the body has none. */
export function messageId(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const id = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>).id : undefined;
    return typeof id === 'string' && id ? id : undefined;
  } catch {
    return undefined;
  }
}
