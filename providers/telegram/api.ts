import type { GuardedHttpClient, OutboundResponse } from '../types';
import { apiBase, type TelegramConnection } from './config';

/** A Bot API error as the envelope states it: `{ok: false, error_code, description, parameters}`. */
export interface BotApiError {
  /** HTTP status of the response (Telegram mirrors error_code in it). */
  status: number;
  errorCode?: number;
  /** e.g. "Forbidden: bot was blocked by the user"; empty when the body was not a Bot API envelope. */
  description: string;
  /** `parameters.retry_after`, seconds. */
  retryAfterSeconds?: number;
  /** `parameters.migrate_to_chat_id`: the group became this supergroup. */
  migrateToChatId?: number;
}

/** The answer to one Bot API call: its result, or the error with the raw response for classification. */
export type BotApiReply<T> =
  | { ok: true; result: T; response: OutboundResponse }
  | { ok: false; error: BotApiError; response: OutboundResponse };

/** The parts of a Telegram `Message` we read. */
export interface TelegramMessage {
  message_id: number;
  chat: { id: number; type?: string };
  reply_to_message?: { message_id: number };
}

/** The parts of a Telegram `Chat` we read. */
export interface TelegramChat {
  id: number;
  type: string;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
}

/** The parts of a Telegram `User` (getMe) we read. */
export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name: string;
  username?: string;
}

/** Per-call timeout: Telegram answers fast or not at all. */
const CALL_TIMEOUT_MS = 15_000;

/**
 * Calls `method` with a JSON body through the guarded client. The token is in the URL path: this URL is
 * never stored, logged or put into an error (the client's errors name at most the host).
 * Rejects only for transport failures (OutboundError).
 */
export async function callBotApi<T>(
  http: GuardedHttpClient,
  connection: TelegramConnection,
  method: string,
  params: Record<string, unknown>,
): Promise<BotApiReply<T>> {
  const response = await http.request({
    method: 'POST',
    url: `${apiBase(connection)}/bot${connection.botToken}/${method}`,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(params),
    timeoutMs: CALL_TIMEOUT_MS,
  });
  const envelope = parseEnvelope(response.body);
  if (response.status >= 200 && response.status < 300 && envelope?.ok === true && 'result' in envelope) {
    return { ok: true, result: envelope.result as T, response };
  }
  const parameters = isObject(envelope?.parameters) ? envelope.parameters : {};
  return {
    ok: false,
    response,
    error: {
      status: response.status,
      errorCode: typeof envelope?.error_code === 'number' ? envelope.error_code : undefined,
      description: typeof envelope?.description === 'string' ? envelope.description : '',
      retryAfterSeconds: nonNegative(parameters.retry_after),
      migrateToChatId: Number.isSafeInteger(parameters.migrate_to_chat_id) ? (parameters.migrate_to_chat_id as number) : undefined,
    },
  };
}

function parseEnvelope(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined; // a proxy's HTML error page, say
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
