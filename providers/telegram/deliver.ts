import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome, GuardedHttpClient } from '../types';
import { TemplateError } from '../shared/template';
import { callBotApi, type BotApiReply, type TelegramMessage } from './api';
import { classifyFailure } from './classify';
import {
  messageExternalId,
  parseMessageExternalId,
  type TelegramConfig,
  type TelegramConnection,
} from './config';
import { messageText } from './message';

/** Everything one attempt shares between its calls. */
interface Attempt {
  http: GuardedHttpClient;
  connection: TelegramConnection;
  config: TelegramConfig;
  text: string;
  secrets: string[];
}

const MISSING_CONNECTION = 'The Telegram connection is missing: fix it, then resume the subscription.';

/**
 * One attempt: a new message, or (for a follow-up) an edit of the subject's message or a reply to it.
 * Never throws: templates and transport failures come back as outcomes (configs arrive parsed).
 */
export async function deliverTelegram(ctx: DeliveryContext<TelegramConfig, TelegramConnection>): Promise<DeliveryOutcome> {
  // config and connection are the schemas' output: parsed once by the attempt activity (providers/input.ts)
  const { config, connection } = ctx;
  if (!connection) return { kind: 'permanent', errorCode: 'connection_missing', error: MISSING_CONNECTION, pauseReason: MISSING_CONNECTION };
  const secrets = [connection.botToken];

  let text: string;
  try {
    text = messageText(ctx, config);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }
  const attempt: Attempt = { http: ctx.http, connection, config, text, secrets };
  const prior = ctx.followUp ? parseMessageExternalId(ctx.followUp.externalId) : undefined;
  try {
    if (prior && config.followUpMode === 'edit') return await edit(attempt, prior);
    if (prior) return await reply(attempt, prior);
    return postedOutcome(attempt, await post(attempt, config.chatId));
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}

/** A posted message, or the failure to post it. */
type Posted =
  | { ok: true; message: TelegramMessage; httpStatus: number; migratedFrom?: number | string }
  | { ok: false; outcome: DeliveryOutcome };

/** Sends a new message; a group that became a supergroup gets it at its new id at once. */
async function post(a: Attempt, chatId: number | string, replyTo?: number): Promise<Posted> {
  const params = {
    text: a.text,
    ...formatting(a.config),
    ...(a.config.messageThreadId ? { message_thread_id: a.config.messageThreadId } : {}),
    ...(a.config.disableNotification ? { disable_notification: true } : {}),
  };
  const reply = replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {};
  const res = await callBotApi<TelegramMessage>(a.http, a.connection, 'sendMessage', { chat_id: chatId, ...params, ...reply });
  if (res.ok) return { ok: true, message: res.result, httpStatus: res.response.status };
  const to = res.error.migrateToChatId;
  if (to === undefined || String(to) === String(chatId)) return { ok: false, outcome: failed(a, 'sendMessage', res, String(chatId)) };
  // the replied-to message stayed behind in the old group, so this one stands alone
  const again = await callBotApi<TelegramMessage>(a.http, a.connection, 'sendMessage', { chat_id: to, ...params });
  if (!again.ok) return { ok: false, outcome: failed(a, 'sendMessage', again, String(to)) };
  return { ok: true, message: again.result, httpStatus: again.response.status, migratedFrom: chatId };
}

/**
 * The outcome of a new message: its id. When it went to the supergroup a group was upgraded to, the
 * attempt log says so and, if the subscription pointed at the old group, its chatId moves to the new one
 * (the next message goes there directly).
 */
function postedOutcome(a: Attempt, p: Posted): DeliveryOutcome {
  if (!p.ok) return p.outcome;
  const outcome: DeliveryOutcome = { kind: 'success', externalId: messageExternalId(p.message.chat.id, p.message.message_id), httpStatus: p.httpStatus };
  if (p.migratedFrom === undefined) return outcome;
  const to = p.message.chat.id;
  const moveSubscription = String(a.config.chatId) === String(p.migratedFrom);
  if (moveSubscription) outcome.configUpdate = { chatId: to };
  outcome.log =
    `Telegram group ${p.migratedFrom} was upgraded to the supergroup ${to}; the message went there.` +
    (moveSubscription ? ` The subscription's chatId is now ${to}.` : '');
  return outcome;
}

/** Edits the subject's message; a message that is gone or frozen is replaced by a new one. */
async function edit(a: Attempt, prior: { chatId: number; messageId: number }): Promise<DeliveryOutcome> {
  const res = await callBotApi<TelegramMessage | true>(a.http, a.connection, 'editMessageText', {
    chat_id: prior.chatId,
    message_id: prior.messageId,
    text: a.text,
    ...formatting(a.config),
  });
  const unchanged: DeliveryOutcome = { kind: 'success', externalId: messageExternalId(prior.chatId, prior.messageId), httpStatus: res.response.status };
  if (res.ok) return unchanged;
  const status = res.response.status;
  const d = res.error.description;
  // the same text again (a redelivery, or an update that changed nothing we show): already right
  if (status === 400 && /message is not modified/i.test(d)) return unchanged;
  const to = res.error.migrateToChatId;
  if (to !== undefined) return postedOutcome(a, withMigration(await post(a, to), prior.chatId));
  if (status === 400 && /message to edit not found|message can't be edited/i.test(d)) return postedOutcome(a, await post(a, a.config.chatId));
  return failed(a, 'editMessageText', res, String(prior.chatId));
}

function withMigration(p: Posted, from: number): Posted {
  return p.ok ? { ...p, migratedFrom: p.migratedFrom ?? from } : p;
}

/**
 * Replies to the subject's message. The record stays that first message (every update hangs off it);
 * when the reply could not attach to it (deleted, or the group moved), the new message takes its place.
 */
async function reply(a: Attempt, prior: { chatId: number; messageId: number }): Promise<DeliveryOutcome> {
  const p = await post(a, prior.chatId, prior.messageId);
  if (p.ok && p.migratedFrom === undefined && p.message.reply_to_message?.message_id === prior.messageId) {
    return { kind: 'success', externalId: messageExternalId(prior.chatId, prior.messageId), httpStatus: p.httpStatus };
  }
  return postedOutcome(a, p);
}

function formatting(config: TelegramConfig) {
  return { parse_mode: config.parseMode, link_preview_options: { is_disabled: !config.linkPreview } };
}

function failed(a: Attempt, method: string, res: Extract<BotApiReply<unknown>, { ok: false }>, chat: string): DeliveryOutcome {
  return classifyFailure(res.response, res.error, { method, chat, messageThreadId: a.config.messageThreadId, secrets: a.secrets });
}

