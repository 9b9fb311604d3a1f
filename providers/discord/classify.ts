import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

/** Discord's JSON error codes the provider acts on. */
const DISCORD_CODES = { unknownWebhook: 10015, invalidToken: 50027, unknownMessage: 10008, tooManyEdits: 30046 } as const;

const PAUSE_REASON =
  'Discord answered that the webhook does not exist or its token is invalid: it was deleted or regenerated. ' +
  'Put a current webhook URL in the subscription, then enable it again.';

/** `{code, message, retry_after, global}` from a Discord answer; absent fields left out. */
function parseDiscordAnswer(body: string): { code?: number; message?: string; retryAfter?: number; id?: string } {
  try {
    const o: unknown = JSON.parse(body);
    if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
    const r = o as Record<string, unknown>;
    return {
      ...(typeof r.code === 'number' ? { code: r.code } : {}),
      ...(typeof r.message === 'string' && r.message ? { message: r.message } : {}),
      ...(typeof r.retry_after === 'number' && Number.isFinite(r.retry_after) && r.retry_after >= 0 ? { retryAfter: r.retry_after } : {}),
      ...(typeof r.id === 'string' && r.id ? { id: r.id } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * The wait a 429 asks for, in ms: the body's `retry_after` (float seconds), else `X-RateLimit-Reset-After`
 * (float seconds), else whatever the shared mapping read from Retry-After.
 */
function discordRetryAfterMs(res: OutboundResponse, fromRetryAfterHeader: number | undefined): number | undefined {
  const body = parseDiscordAnswer(res.body).retryAfter;
  if (body !== undefined) return Math.ceil(body * 1000);
  const reset = Number(res.headers['x-ratelimit-reset-after']);
  if (res.headers['x-ratelimit-reset-after'] && Number.isFinite(reset) && reset >= 0) return Math.ceil(reset * 1000);
  return fromRetryAfterHeader;
}

/**
 * Classifies a webhook answer: 2xx success with the message id; 429 retryable after `retry_after`;
 * 5xx retryable; 404, 401, 403 and codes 10015/50027 (the webhook is gone) permanent and pausing, since
 * Discord says not to use such a webhook again; 400 and other 4xx permanent.
 */
export function classifyDiscordResponse(res: OutboundResponse, secrets: Iterable<string>): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { secrets });
  const answer = parseDiscordAnswer(res.body);
  if (outcome.kind === 'success') return answer.id ? { ...outcome, externalId: answer.id } : outcome;
  const error = answer.message
    ? sanitise(`HTTP ${res.status} from Discord: ${answer.message}${answer.code !== undefined ? ` (code ${answer.code})` : ''}`, secrets, 400)
    : outcome.error;
  if (outcome.kind === 'retryable') {
    const retryAfterMs = res.status === 429 ? discordRetryAfterMs(res, outcome.retryAfterMs) : outcome.retryAfterMs;
    return { ...outcome, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  const gone =
    answer.code === DISCORD_CODES.unknownWebhook || answer.code === DISCORD_CODES.invalidToken || [401, 403, 404].includes(res.status);
  if (gone && answer.code !== DISCORD_CODES.unknownMessage) {
    return { ...outcome, error, errorCode: 'discord_webhook_gone', pauseReason: PAUSE_REASON };
  }
  return { ...outcome, error, ...(answer.code !== undefined ? { errorCode: `discord_${answer.code}` } : {}) };
}

/** The edit cannot be made but a new message can: the message was deleted, or it is too old to edit again. */
export function messageCannotBeEdited(res: OutboundResponse): boolean {
  const code = parseDiscordAnswer(res.body).code;
  return code === DISCORD_CODES.unknownMessage || code === DISCORD_CODES.tooManyEdits;
}
