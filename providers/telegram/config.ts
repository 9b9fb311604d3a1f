import { z } from 'zod';
import { templateField } from '../shared/template';
import { secretMeta } from '../shared/secret-field';

/** The public Bot API; a local Bot API server (or a test fake) can stand in for it. */
const TELEGRAM_API_BASE_URL = 'https://api.telegram.org';

/** The bot's numeric id, a colon, then the secret part (BotFather prints 35 characters). */
const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;

/** A Telegram bot: its token and the Bot API it talks to. */
export const telegramConnectionSchema = z.strictObject({
  botToken: z
    .string()
    .regex(BOT_TOKEN, 'must be a bot token as BotFather gives it: <digits>:<letters, digits, _ and ->')
    .describe('Bot token from @BotFather')
    .meta(secretMeta({ boundTo: ['apiBaseUrl'] })),
  apiBaseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(512)
    .refine((url) => !/[?#]/.test(url), 'must not contain a query or fragment')
    .default(TELEGRAM_API_BASE_URL)
    .describe('Bot API server; change it for a local Bot API server'),
});

/** A parsed, defaulted Telegram connection. */
export type TelegramConnection = z.output<typeof telegramConnectionSchema>;

const chatId = z
  .union([
    z.number().int().refine(Number.isSafeInteger, 'is too large for a chat id'),
    z.string().regex(/^-?\d{1,16}$/, 'must be a numeric chat id or @channelusername'),
    z.string().regex(/^@[A-Za-z][A-Za-z0-9_]{3,31}$/, 'must be a numeric chat id or @channelusername'),
  ])
  .meta({ 'x-options-resolver': 'recentChats' })
  .describe('Numeric chat id (e.g. -1001234567890) or @channelusername of a public channel');

/** Config of one Telegram subscription. */
export const telegramConfigSchema = z.strictObject({
  chatId,
  parseMode: z.enum(['HTML', 'MarkdownV2']).default('HTML').describe('How the message text (and a template) is formatted'),
  disableNotification: z.boolean().optional().describe('Deliver silently (no sound on the recipients\' devices)'),
  messageThreadId: z.number().int().positive().optional().describe('Forum topic to post in (supergroups with topics)'),
  followUpMode: z
    .enum(['edit', 'reply'])
    .default('edit')
    .describe('Later events about the same incident/maintenance/system: edit the first message, or reply to it'),
  linkPreview: z.boolean().default(false).describe('Show a preview of the link back to the platform'),
  template: templateField(16384)
    .optional()
    .describe(
      'Mustache template of the message text, written in the parse mode (HTML tags or MarkdownV2 marks); ' +
        'reads payload, event, deliveryId and subscription; every {{value}} is escaped for the parse mode. ' +
        'When absent a standard message is sent.',
    ),
});

/** A parsed, defaulted Telegram subscription config. */
export type TelegramConfig = z.output<typeof telegramConfigSchema>;
/** The formatting mode of a message. */
export type ParseMode = TelegramConfig['parseMode'];

/** The bot's public numeric id: the part of the token before the colon. */
function botIdOf(token: string): string {
  return token.split(':', 1)[0];
}

/** The API base without a trailing slash. */
export function apiBase(connection: Pick<TelegramConnection, 'apiBaseUrl'>): string {
  return (connection.apiBaseUrl || TELEGRAM_API_BASE_URL).replace(/\/+$/, '');
}

/**
 * Where a message lives for follow-ups: API, bot (only the bot that sent a message may edit it), chat and
 * topic. Holds the bot's public id, never its token.
 */
export function telegramTarget(config: Pick<TelegramConfig, 'chatId' | 'messageThreadId'>, connection: TelegramConnection): string {
  const topic = config.messageThreadId ? `/${config.messageThreadId}` : '';
  return `telegram:${apiBase(connection)}:bot${botIdOf(connection.botToken)}:${String(config.chatId)}${topic}`;
}

/** The external id of a message: `<chat id>:<message id>`. */
export function messageExternalId(chat: number | string, messageId: number): string {
  return `${chat}:${messageId}`;
}

/** Reads `<chat id>:<message id>` back; undefined when it is not one. */
export function parseMessageExternalId(externalId: string): { chatId: number; messageId: number } | undefined {
  const match = /^(-?\d{1,16}):(\d{1,12})$/.exec(externalId);
  return match ? { chatId: Number(match[1]), messageId: Number(match[2]) } : undefined;
}
