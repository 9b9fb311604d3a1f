import { sanitise, sanitiseCode } from '../shared/sanitise';
import { outcomeFromResponse, parseRetryAfter } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

/** A failure outcome (retryable or permanent). */
export type SlackFailure = Exclude<DeliveryOutcome, { kind: 'success' }>;

/** Web API error codes worth another try: Slack's own transient failures and rate limits. */
const RETRYABLE_API_ERRORS = new Set([
  'ratelimited', 'rate_limited', 'message_limit_exceeded', 'internal_error', 'fatal_error', 'service_unavailable',
  'request_timeout', 'team_added_to_org',
]);

/** Web API error codes meaning the token will never work again: the subscription pauses. */
const CREDENTIAL_GONE = new Set(['invalid_auth', 'token_revoked', 'token_expired', 'account_inactive', 'team_disabled']);
/** Web API error codes meaning the channel is gone for good: the subscription pauses. */
const CHANNEL_GONE = new Set(['channel_not_found', 'is_archived', 'channel_is_archived', 'is_inactive']);

/** What an admin should do about a permanent Web API error that does not pause. */
const API_HINTS: Record<string, string> = {
  not_in_channel: 'the bot is not a member of the channel: invite it (/invite @your-bot), then retry the delivery',
  missing_scope: 'the token lacks a scope: add it to the Slack app and reinstall',
  no_permission: 'the app may not post here: add it to the channel',
  not_authed: 'no token was sent: check the connection',
  msg_too_long: 'the message is too long',
  msg_blocks_too_long: 'the message blocks are too long',
  invalid_blocks: 'Slack rejected the message blocks',
  restricted_action: 'a workspace setting prevents the bot from posting',
  restricted_action_read_only_channel: 'the channel is read-only',
  restricted_action_thread_only_channel: 'the channel only allows thread replies',
  ekm_access_denied: 'workspace administrators have suspended posting',
};

/** Where a Web API error happened, for readable messages. */
export interface ApiErrorContext {
  method: string;
  channel?: string;
  secrets?: Iterable<string>;
}

/**
 * Classifies a Web API answer that is not `ok: true`. HTTP errors go through the shared mapping first
 * (429 and 5xx retryable with Retry-After, 410 pausing); Slack's HTTP-200 `{ok:false, error}` is then
 * sorted into retryable, permanent, or permanent and pausing (token or channel gone).
 */
export function classifyApiFailure(res: OutboundResponse, body: SlackApiBody | undefined, where: ApiErrorContext): SlackFailure {
  // Slack's code is the answer's text: a proxy or Slack itself may echo the token in it
  const code = typeof body?.error === 'string' ? sanitiseCode(body.error, where.secrets) : undefined;
  if (res.status < 200 || res.status >= 300) {
    const base = outcomeFromResponse(res, { secrets: where.secrets }) as SlackFailure;
    return code ? { ...base, errorCode: code, error: sanitise(`Slack ${where.method} failed: HTTP ${res.status} ${code}`, where.secrets) } : base;
  }
  if (!code) {
    return {
      kind: 'permanent',
      httpStatus: res.status,
      errorCode: 'not_slack_api',
      error: `Slack ${where.method} answered HTTP ${res.status} without a Slack API result: check the connection's apiBaseUrl`,
    };
  }
  const detail = apiErrorDetail(code, body);
  const error = sanitise(`Slack ${where.method} failed: ${code}${detail ? ` (${detail})` : ''}`, where.secrets, 500);
  const common = { httpStatus: res.status, errorCode: code, error };
  if (RETRYABLE_API_ERRORS.has(code)) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
    return { kind: 'retryable', ...common, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (CREDENTIAL_GONE.has(code)) {
    return {
      kind: 'permanent',
      ...common,
      pauseReason: `Slack rejected the bot token (${code}): update the connection's token, then enable the subscription again`,
    };
  }
  if (CHANNEL_GONE.has(code)) {
    const channel = where.channel ? ` ${where.channel}` : '';
    const pauseReason =
      code === 'channel_not_found'
        ? `The Slack channel${channel} was not found: it was deleted, or it is private and the bot is not a member`
        : `The Slack channel${channel} is archived: choose another channel, or unarchive it, then enable the subscription again`;
    return { kind: 'permanent', ...common, pauseReason };
  }
  return { kind: 'permanent', ...common };
}

/** The JSON body of a Web API answer (only the fields we read). */
export interface SlackApiBody {
  ok?: boolean;
  error?: unknown;
  needed?: unknown;
  response_metadata?: { messages?: unknown; warnings?: unknown; next_cursor?: unknown };
  [key: string]: unknown;
}

function apiErrorDetail(code: string, body: SlackApiBody | undefined): string | undefined {
  const parts: string[] = [];
  if (API_HINTS[code]) parts.push(API_HINTS[code]);
  if (typeof body?.needed === 'string') parts.push(`needed: ${body.needed.slice(0, 100)}`);
  const messages = body?.response_metadata?.messages;
  if (Array.isArray(messages) && typeof messages[0] === 'string') parts.push(messages[0].slice(0, 200));
  return parts.length ? parts.join('; ') : undefined;
}

/** Incoming-webhook errors meaning the hook (or its channel) is gone: the subscription pauses. */
const HOOK_GONE: Record<string, string> = {
  no_service: 'The Slack incoming webhook was removed or disabled (no_service): create a new one and update the subscription',
  no_active_hooks: 'The Slack incoming webhook is disabled (no_active_hooks): enable it or create a new one',
  invalid_token: 'The Slack incoming webhook URL is no longer valid (invalid_token): create a new one and update the subscription',
  no_team: 'The Slack workspace of this incoming webhook no longer exists (no_team)',
  team_disabled: 'The Slack workspace of this incoming webhook is disabled (team_disabled)',
  channel_not_found: 'The channel of this Slack incoming webhook was deleted (channel_not_found): create a new webhook',
  channel_is_archived: 'The channel of this Slack incoming webhook is archived (channel_is_archived): unarchive it or create a new webhook',
};
const HOOK_HINTS: Record<string, string> = {
  invalid_payload: 'Slack could not read the message',
  action_prohibited: 'a workspace administrator restricted this webhook',
  posting_to_general_channel_denied: 'only administrators may post to this channel',
  no_text: 'the message had no text',
  too_many_attachments: 'the message had too many attachments',
  user_not_found: 'Slack could not find the user',
};

/**
 * Classifies an incoming-webhook answer: 200 `ok` is success; errors are a plain-text code with a status.
 * 429/5xx stay retryable (with Retry-After); a removed or disabled hook, an archived or deleted channel,
 * and any 404 or 410 pause the subscription; other 4xx are permanent. The URL never appears in the error.
 */
export function classifyWebhookResponse(res: OutboundResponse, secrets: Iterable<string>): DeliveryOutcome {
  const base = outcomeFromResponse(res, { secrets });
  if (base.kind === 'success') return base;
  const firstLine = res.body.trim().split('\n')[0] ?? '';
  const code = /^[a-z_]{2,64}$/.test(firstLine) ? firstLine : undefined;
  if (base.kind === 'retryable') return code ? { ...base, errorCode: code } : base;
  const hint = code && HOOK_HINTS[code];
  const error = code ? `Slack incoming webhook answered HTTP ${res.status}: ${code}${hint ? ` (${hint})` : ''}` : base.error;
  const pauseReason =
    (code && HOOK_GONE[code]) ??
    (res.status === 404 || res.status === 410 ? `The Slack incoming webhook answered HTTP ${res.status}: it was removed; create a new one and update the subscription` : undefined);
  return { ...base, error, ...(code ? { errorCode: code } : {}), ...(pauseReason ? { pauseReason } : {}) };
}
