import { TemplateError, checkTemplatePaths, exampleView } from '../shared/template';
import type { ConnectionContext, EventTypeInfo, FieldProblem, OptionItem, ProviderDefinition } from '../types';
import { callBotApi, type TelegramChat, type TelegramUser } from './api';
import {
  telegramConfigSchema,
  telegramConnectionSchema,
  telegramTarget,
  type TelegramConfig,
  type TelegramConnection,
} from './config';
import { deliverTelegram } from './deliver';
import { markupProblem } from './lint';
import { renderForParseMode } from './message';

export { telegramConfigSchema, telegramConnectionSchema, type TelegramConfig, type TelegramConnection } from './config';

/** Save-time checks of a template: fields that can never exist, and markup Telegram would refuse. */
function validateTelegramConfig(config: TelegramConfig, eventType: EventTypeInfo): FieldProblem[] {
  if (config.template === undefined) return [];
  const problems = checkTemplatePaths(config.template, eventType, 'config.template');
  if (problems.length) return problems;
  try {
    // Values are escaped when rendered, so what can break is the template's own markup: check it once.
    const problem = markupProblem(renderForParseMode(config.template, exampleView(eventType), config.parseMode), config.parseMode);
    return problem ? [{ path: 'config.template', message: `Telegram would refuse this ${config.parseMode} message: ${problem}` }] : [];
  } catch (err) {
    if (err instanceof TemplateError) return [{ path: 'config.template', message: err.message }];
    throw err;
  }
}

/** `getMe`: proves the token works and names the bot. */
async function testTelegramConnection(ctx: ConnectionContext<TelegramConnection>): Promise<{ ok: boolean; message: string }> {
  const parsed = telegramConnectionSchema.safeParse(ctx.connection);
  if (!parsed.success) return { ok: false, message: 'The connection is invalid: it needs a bot token as BotFather gives it' };
  const res = await callBotApi<TelegramUser>(ctx.http, parsed.data, 'getMe', {});
  if (res.ok) {
    const name = res.result.username ? `@${res.result.username}` : res.result.first_name;
    return { ok: true, message: `Connected as ${name}` };
  }
  if (res.response.status === 401 || res.response.status === 404) {
    return { ok: false, message: `Telegram rejected the bot token (HTTP ${res.response.status} ${res.error.description || 'Unauthorized'})` };
  }
  return { ok: false, message: `Telegram answered HTTP ${res.response.status}: ${res.error.description || 'not a Bot API response'}` };
}

/**
 * Chats the bot saw lately, from `getUpdates` (the Bot API cannot list a bot's chats). Only chats with
 * activity in the last 24 hours that no other consumer has confirmed; refused while a webhook is set.
 * Does not confirm (consume) any update.
 */
async function recentChats(ctx: ConnectionContext<TelegramConnection>): Promise<OptionItem[]> {
  const connection = telegramConnectionSchema.safeParse(ctx.connection);
  if (!connection.success) throw new Error('The connection is invalid: it needs a bot token as BotFather gives it');
  const res = await callBotApi<Record<string, unknown>[]>(ctx.http, connection.data, 'getUpdates', { limit: 100, timeout: 0 });
  if (!res.ok) {
    const hint = res.response.status === 409 ? ' (a webhook is set for this bot, so recent chats cannot be read: enter the chat id by hand)' : '';
    throw new Error(`getUpdates answered HTTP ${res.response.status}: ${res.error.description || 'not a Bot API response'}${hint}`);
  }
  const chats = new Map<number, TelegramChat>();
  for (const update of Array.isArray(res.result) ? res.result : []) {
    for (const chat of chatsIn(update)) chats.set(chat.id, chat); // later updates win: titles change
  }
  return [...chats.values()].map((chat) => ({ value: String(chat.id), label: `${chatName(chat)} (${chat.type}, ${chat.id})` }));
}

const UPDATE_KINDS = ['message', 'edited_message', 'channel_post', 'edited_channel_post', 'my_chat_member', 'chat_member', 'chat_join_request'];

function chatsIn(update: Record<string, unknown>): TelegramChat[] {
  const found: TelegramChat[] = [];
  for (const kind of UPDATE_KINDS) {
    const chat = (update[kind] as { chat?: unknown } | undefined)?.chat;
    if (isChat(chat)) found.push(chat);
  }
  const callbackChat = (update.callback_query as { message?: { chat?: unknown } } | undefined)?.message?.chat;
  if (isChat(callbackChat)) found.push(callbackChat);
  return found;
}

function isChat(value: unknown): value is TelegramChat {
  const chat = value as TelegramChat | undefined;
  return !!chat && typeof chat === 'object' && Number.isSafeInteger(chat.id) && typeof chat.type === 'string';
}

function chatName(chat: TelegramChat): string {
  if (chat.title) return chat.title;
  const person = [chat.first_name, chat.last_name].filter(Boolean).join(' ');
  return person || (chat.username ? `@${chat.username}` : String(chat.id));
}

/** Telegram through a bot: one message per subject, edited (or replied to) as it changes. */
export const telegramProvider: ProviderDefinition<TelegramConfig, TelegramConnection> = {
  id: 'telegram',
  /** The bot token in Bot API paths (`/bot<token>/sendMessage`), and a bare bot token. */
  redact: [
    { pattern: /\/bot\d+:[A-Za-z0-9_-]+/g, replacement: '/bot***' },
    { pattern: /\b\d{6,12}:[A-Za-z0-9_-]{30,}/g, replacement: '***' },
  ],
  displayName: 'Telegram',
  description:
    'Posts each event as a message from a Telegram bot to a chat, group, channel or forum topic (HTML or MarkdownV2, ' +
    'optionally templated). Later events about the same incident, maintenance or system edit that message or reply to it.',
  configSchema: telegramConfigSchema,
  connectionSchema: telegramConnectionSchema,
  connection: 'required',
  followUps: true,
  // edits of one message collapse to the newest; replies are a history
  coalesceFollowUps: (config) => config.followUpMode !== 'reply',
  followUpTarget: (config, connection) => {
    const parsed = telegramConnectionSchema.safeParse(connection);
    return parsed.success ? telegramTarget(config, parsed.data) : undefined;
  },
  validateConfig: validateTelegramConfig,
  deliver: deliverTelegram,
  testConnection: testTelegramConnection,
  options: { recentChats },
};
