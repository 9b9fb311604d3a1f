import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';
import type { BotApiError } from './api';

/** A failed attempt's outcome: never a success. */
export type FailureOutcome = Exclude<DeliveryOutcome, { kind: 'success' }>;

/** What a classification may name in its messages: the method, the chat and topic as configured. */
export interface FailureContext {
  method: string;
  chat: string;
  messageThreadId?: number;
  /** Secret values to mask (the bot token above all). */
  secrets: string[];
  nowMs?: number;
}

interface Verdict {
  errorCode: string;
  pauseReason?: string;
}

/**
 * Classifies a Bot API failure on top of the shared HTTP mapping: 429 waits `parameters.retry_after`
 * (or Retry-After), 5xx retries, a revoked token or a chat the bot cannot reach any more pauses the
 * subscription with a reason saying what to fix, other 4xx are permanent. `migrate_to_chat_id` is
 * handled by the caller before this (here it is permanent).
 */
export function classifyFailure(response: OutboundResponse, error: BotApiError, ctx: FailureContext): FailureOutcome {
  const base = outcomeFromResponse(response, { secrets: ctx.secrets, nowMs: ctx.nowMs });
  const status = response.status;
  const message = (detail: string) => sanitise(`${ctx.method}: HTTP ${status}: ${detail}`, ctx.secrets, 300);
  const detail = error.description || (base.kind === 'success' ? 'the answer is not a Bot API response' : stripStatus(base.error));

  if (base.kind === 'success') {
    // 2xx without `{ok: true, result}`: the base URL does not point at a Bot API server
    return { kind: 'permanent', errorCode: 'invalid_response', httpStatus: status, error: message(detail) };
  }
  if (status === 429) {
    const bodyHintMs = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined;
    const hints = [bodyHintMs, base.kind === 'retryable' ? base.retryAfterMs : undefined].filter((h): h is number => h !== undefined);
    return {
      kind: 'retryable',
      errorCode: 'rate_limited',
      httpStatus: status,
      error: message(detail),
      ...(hints.length ? { retryAfterMs: Math.max(...hints) } : {}),
    };
  }
  if (base.kind === 'retryable') return { ...base, errorCode: 'server_error', error: message(detail) };

  const verdict = verdictFor(status, error, ctx);
  return {
    kind: 'permanent',
    errorCode: verdict.errorCode,
    httpStatus: status,
    error: message(detail),
    ...(verdict.pauseReason ? { pauseReason: sanitise(verdict.pauseReason, ctx.secrets, 500) } : {}),
  };
}

function verdictFor(status: number, error: BotApiError, ctx: FailureContext): Verdict {
  const d = error.description;
  const chat = `chat ${ctx.chat}`;
  const resume = 'then resume the subscription';
  if (status === 401) {
    return {
      errorCode: 'unauthorized',
      pauseReason: 'Telegram rejected the bot token (401 Unauthorized): it was revoked or mistyped. Update the connection\'s bot token, ' + resume + '.',
    };
  }
  if (status === 404) {
    return {
      errorCode: 'not_found',
      pauseReason: 'The Bot API answered 404 Not Found: check the connection\'s bot token and API base URL, ' + resume + '.',
    };
  }
  if (status === 403) return forbidden(d, chat, resume);
  if (status !== 400) return { errorCode: `http_${status}` };
  if (/chat not found/i.test(d)) {
    return {
      errorCode: 'chat_not_found',
      pauseReason: `Telegram ${chat} was not found: check the chat id and that the bot was added to the chat, ${resume}.`,
    };
  }
  if (/message thread not found/i.test(d)) {
    return { errorCode: 'thread_not_found', pauseReason: `Forum topic ${ctx.messageThreadId ?? ''} no longer exists in ${chat}: pick another topic, ${resume}.` };
  }
  if (/topic_closed/i.test(d)) {
    return { errorCode: 'topic_closed', pauseReason: `Forum topic ${ctx.messageThreadId ?? ''} in ${chat} is closed: reopen it or pick another topic, ${resume}.` };
  }
  if (/not enough rights|have no rights|chat_write_forbidden|chat_restricted/i.test(d)) {
    return { errorCode: 'no_rights', pauseReason: `The bot may not post in ${chat}: give it the right to send messages, ${resume}.` };
  }
  if (/group chat was upgraded/i.test(d)) return { errorCode: 'chat_migrated' };
  if (/can't parse entities/i.test(d)) return { errorCode: 'parse_error' };
  if (/message is too long/i.test(d)) return { errorCode: 'message_too_long' };
  return { errorCode: 'bad_request' };
}

function forbidden(d: string, chat: string, resume: string): Verdict {
  if (/blocked by the user/i.test(d)) {
    return { errorCode: 'bot_blocked', pauseReason: `The user of ${chat} blocked the bot: they must unblock it, ${resume}.` };
  }
  if (/kicked/i.test(d)) {
    return { errorCode: 'bot_kicked', pauseReason: `The bot was removed from ${chat}: add it back, ${resume}.` };
  }
  if (/not a member/i.test(d)) {
    return { errorCode: 'not_member', pauseReason: `The bot is not a member of ${chat}: add it (as an admin for channels), ${resume}.` };
  }
  if (/can't initiate conversation/i.test(d)) {
    return { errorCode: 'not_started', pauseReason: `The user of ${chat} never started a conversation with the bot: they must open it and press Start, ${resume}.` };
  }
  if (/deactivated/i.test(d)) {
    return { errorCode: 'user_deactivated', pauseReason: `The Telegram account of ${chat} was deleted.` };
  }
  if (/rights|administrator/i.test(d)) {
    return { errorCode: 'no_rights', pauseReason: `The bot may not post in ${chat}: give it the right to send messages, ${resume}.` };
  }
  return { errorCode: 'forbidden', pauseReason: `Telegram refused the bot access to ${chat} (${d || '403 Forbidden'}): fix its membership, ${resume}.` };
}

/** The shared mapping's error without its "HTTP nnn: " prefix (we add our own). */
function stripStatus(error: string): string {
  return error.replace(/^HTTP \d+: /, '');
}
