import type http from 'node:http';
import { HttpFake, takeScripted } from './http-fake';

/** One Bot API call as the fake saw it. */
export interface BotCall {
  method: string;
  /** The token from the `/bot<token>/` path. */
  token: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The JSON body as parsed. */
  body: Record<string, any>;
  at: number;
}

/** A raw HTTP answer the fake can be told to give. */
export interface FakeReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A chat the fake knows, with the state the Bot API keeps for it. */
export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  username?: string;
  first_name?: string;
  /** Forum topics that exist (supergroups with topics). */
  topics?: number[];
  /** The user blocked the bot (private chats). */
  blocked?: boolean;
  /** The bot was removed from the group. */
  kicked?: boolean;
  /** The group became this supergroup. */
  migratedTo?: number;
}

/** A message the fake stored. */
export interface FakeMessage {
  message_id: number;
  chat: { id: number; type: string; title?: string; username?: string };
  date: number;
  edit_date?: number;
  text: string;
  /** What was sent, before entity parsing. */
  raw: string;
  parse_mode?: string;
  message_thread_id?: number;
  reply_to_message?: { message_id: number };
  disable_notification?: boolean;
  link_preview_options?: unknown;
  from: { id: number; is_bot: true; first_name: string; username: string };
}

const error = (status: number, description: string, parameters?: Record<string, unknown>): FakeReply => ({
  status,
  body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
});

/** The Bot API's documented error answers, for scripting. */
export const botErrors = {
  tooManyRequests: (seconds: number, header = false): FakeReply => ({
    ...error(429, `Too Many Requests: retry after ${seconds}`, { retry_after: seconds }),
    ...(header ? { headers: { 'retry-after': String(seconds) } } : {}),
  }),
  serverError: (status = 500, description = 'Internal Server Error'): FakeReply => error(status, description),
  blocked: (): FakeReply => error(403, 'Forbidden: bot was blocked by the user'),
  kicked: (): FakeReply => error(403, 'Forbidden: bot was kicked from the supergroup chat'),
  notMember: (): FakeReply => error(403, 'Forbidden: bot is not a member of the channel chat'),
  chatNotFound: (): FakeReply => error(400, 'Bad Request: chat not found'),
  migrated: (to: number): FakeReply => error(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: to }),
  unauthorized: (): FakeReply => error(401, 'Unauthorized'),
  badRequest: (description: string): FakeReply => error(400, `Bad Request: ${description}`),
};

/**
 * A local Telegram Bot API: `/bot<token>/{getMe,sendMessage,editMessageText,getUpdates}` with the real
 * envelopes and errors. It checks the token (401 for a well-formed unknown one, 404 otherwise), keeps
 * messages per chat, parses HTML/MarkdownV2 like the API (400 "can't parse entities"), enforces the
 * 4096-character limit, and answers scripted errors first.
 */
export class TelegramFake extends HttpFake {
  readonly calls: BotCall[] = [];
  /** Scripted answers: the first one whose method matches (or has none) answers the next call. */
  readonly script: Array<{ method?: string; reply: FakeReply }> = [];
  readonly chats = new Map<number, FakeChat>();
  readonly messages = new Map<number, FakeMessage[]>();
  /** What getUpdates returns. */
  updates: unknown[] = [];
  /** While set, getUpdates answers 409 as the real API does. */
  webhookUrl: string | undefined;
  private readonly bots = new Map<string, { id: number; username: string; first_name: string }>();

  constructor(token: string, bot: { username: string; first_name: string } = { username: 'hub_alerts_bot', first_name: 'Hub Alerts' }) {
    super();
    this.bots.set(token, { id: Number(token.split(':')[0]), ...bot });
  }

  /** The base to configure as `apiBaseUrl`. */
  get url(): string {
    return this.origin;
  }

  protected override defaultHeaders(): Record<string, string> {
    return { 'content-type': 'application/json' };
  }

  /** Every request is in `requests`; the well-formed Bot API calls also in `calls`. */
  protected override handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    this.requests.push(this.record(req, body));
    this.write(res, this.call(req, body));
  }


  addChat(chat: FakeChat): FakeChat {
    this.chats.set(chat.id, chat);
    return chat;
  }

  /** Calls of one method, in order. */
  callsOf(method: string): BotCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Messages stored in a chat. */
  messagesIn(chatId: number): FakeMessage[] {
    return this.messages.get(chatId) ?? [];
  }

  /** Forgets calls, scripts and messages (chats stay). */
  reset(): void {
    this.calls.length = 0;
    this.script.length = 0;
    this.messages.clear();
    this.updates = [];
    this.webhookUrl = undefined;
  }

  private call(req: http.IncomingMessage, text: string): FakeReply {
    const path = /^\/bot([^/]*)\/([A-Za-z]+)(?:\?.*)?$/.exec(req.url ?? '');
    if (!path) return error(404, 'Not Found');
    const [, token, method] = path;
    let body: Record<string, any> = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return error(400, 'Bad Request: invalid JSON');
    }
    this.calls.push({ method, token, url: req.url ?? '', headers: req.headers, body, at: Date.now() });
    const bot = this.bots.get(token);
    if (!bot) return /^\d+:[A-Za-z0-9_-]{35}$/.test(token) ? botErrors.unauthorized() : error(404, 'Not Found');
    const scripted = takeScripted(this.script, (s) => !s.method || s.method === method);
    if (scripted) return scripted.reply;
    switch (method) {
      case 'getMe':
        return ok({ id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username, can_join_groups: true });
      case 'getUpdates':
        return this.webhookUrl
          ? error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
          : ok(this.updates);
      case 'sendMessage':
        return this.send(bot, body);
      case 'editMessageText':
        return this.edit(body);
      default:
        return error(404, 'Not Found');
    }
  }

  private chatFor(chatId: unknown): FakeChat | FakeReply {
    const chat =
      typeof chatId === 'string' && chatId.startsWith('@')
        ? [...this.chats.values()].find((c) => c.username && `@${c.username}`.toLowerCase() === chatId.toLowerCase())
        : this.chats.get(Number(chatId));
    if (!chat) return botErrors.chatNotFound();
    if (chat.migratedTo !== undefined) return botErrors.migrated(chat.migratedTo);
    if (chat.blocked) return botErrors.blocked();
    if (chat.kicked) return error(403, `Forbidden: bot was kicked from the ${chat.type} chat`);
    return chat;
  }

  private parsed(body: Record<string, any>): string | FakeReply {
    if (typeof body.text !== 'string') return botErrors.badRequest('message text is empty');
    let visible: string;
    try {
      visible = visibleText(body.text, body.parse_mode);
    } catch (err) {
      if (err instanceof EntityParseError) return botErrors.badRequest(`can't parse entities: ${err.message}`);
      throw err;
    }
    if (!visible.trim()) return botErrors.badRequest('message text is empty');
    if (visible.length > 4096) return botErrors.badRequest('message is too long');
    return visible;
  }

  private send(bot: { id: number; username: string; first_name: string }, body: Record<string, any>): FakeReply {
    const chat = this.chatFor(body.chat_id);
    if ('status' in chat) return chat;
    const visible = this.parsed(body);
    if (typeof visible !== 'string') return visible;
    if (body.message_thread_id !== undefined && !chat.topics?.includes(body.message_thread_id)) {
      return botErrors.badRequest('message thread not found');
    }
    const stored = this.messagesIn(chat.id);
    const replyId = body.reply_parameters?.message_id ?? body.reply_to_message_id;
    const repliedTo = replyId === undefined ? undefined : stored.find((m) => m.message_id === replyId);
    if (replyId !== undefined && !repliedTo && !body.reply_parameters?.allow_sending_without_reply) {
      return botErrors.badRequest('message to be replied not found');
    }
    const message: FakeMessage = {
      message_id: stored.length ? stored[stored.length - 1].message_id + 1 : 1,
      chat: { id: chat.id, type: chat.type, ...(chat.title ? { title: chat.title } : {}), ...(chat.username ? { username: chat.username } : {}) },
      date: Math.floor(Date.now() / 1000),
      text: visible,
      raw: body.text,
      parse_mode: body.parse_mode,
      message_thread_id: body.message_thread_id,
      reply_to_message: repliedTo ? { message_id: repliedTo.message_id } : undefined,
      disable_notification: body.disable_notification,
      link_preview_options: body.link_preview_options,
      from: { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username },
    };
    this.messages.set(chat.id, [...stored, message]);
    return ok(view(message));
  }

  private edit(body: Record<string, any>): FakeReply {
    const chat = this.chatFor(body.chat_id);
    if ('status' in chat) return chat;
    const message = this.messagesIn(chat.id).find((m) => m.message_id === body.message_id);
    if (!message) return botErrors.badRequest('message to edit not found');
    const visible = this.parsed(body);
    if (typeof visible !== 'string') return visible;
    if (visible === message.text && body.text === message.raw) {
      return botErrors.badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    Object.assign(message, { text: visible, raw: body.text, parse_mode: body.parse_mode, edit_date: Math.floor(Date.now() / 1000) });
    return ok(view(message));
  }
}

function ok(result: unknown): FakeReply {
  return { status: 200, body: { ok: true, result } };
}

/** A message as the API returns it (without the fake's bookkeeping). */
function view(m: FakeMessage): Record<string, unknown> {
  const { raw: _raw, parse_mode: _mode, disable_notification: _silent, link_preview_options: _preview, ...rest } = m;
  return JSON.parse(JSON.stringify(rest));
}

// ---- entity parsing, written apart from the provider's escaping so tests catch its mistakes ----

/** The Bot API's parse failure: becomes `400 Bad Request: can't parse entities: <reason>`. */
export class EntityParseError extends Error {}

const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Visible text of `text` under `parseMode` (none: as is). Throws EntityParseError like the real API. */
export function visibleText(text: string, parseMode?: string): string {
  if (parseMode === 'HTML') return parseHtml(text);
  if (parseMode === 'MarkdownV2') return parseMarkdownV2(text);
  if (parseMode === undefined || parseMode === '') return text;
  throw new EntityParseError(`Unsupported parse_mode "${parseMode}"`);
}

function parseHtml(text: string): string {
  const open: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '<') {
      const tag = /^<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*>/.exec(text.slice(i));
      if (!tag) throw new EntityParseError(`Unexpected end tag or unsupported character "<" at byte offset ${i}`);
      const name = tag[2].toLowerCase();
      if (!HTML_TAGS.has(name)) throw new EntityParseError(`Unsupported start tag "${name}" at byte offset ${i}`);
      if (tag[1]) {
        const expected = open.pop();
        if (expected !== name) throw new EntityParseError(`Unmatched end tag at byte offset ${i}, expected "</${expected}>", found "</${name}>"`);
      } else {
        if (name === 'a' && !/\shref="[^"]+"/.test(tag[3])) throw new EntityParseError(`Can't find href in a tag at byte offset ${i}`);
        open.push(name);
      }
      i += tag[0].length;
    } else if (c === '&') {
      const entity = /^&(lt|gt|amp|quot|#(\d+)|#x([0-9a-fA-F]+));/.exec(text.slice(i));
      if (!entity) throw new EntityParseError(`Character "&" at byte offset ${i} is not a part of an entity; write &amp;`);
      out += NAMED[entity[1]] ?? String.fromCodePoint(entity[2] ? Number(entity[2]) : parseInt(entity[3], 16));
      i += entity[0].length;
    } else if (c === '>') {
      throw new EntityParseError(`Character ">" at byte offset ${i} must be written &gt;`);
    } else {
      out += c;
      i += 1;
    }
  }
  if (open.length) throw new EntityParseError(`Can't find end tag corresponding to start tag "${open[open.length - 1]}"`);
  return out;
}

const MARK_NAMES: Record<string, string> = { '*': 'Bold', _: 'Italic', __: 'Underline', '~': 'Strikethrough', '||': 'Spoiler', '`': 'Code', '```': 'Pre' };
const RESERVED = '_*[]()~`>#+-=|{}.!';

function parseMarkdownV2(text: string): string {
  const open: Array<{ mark: string; at: number }> = [];
  let link: number | undefined;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const top = open[open.length - 1]?.mark;
    if (c === '\\') {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 1 && next <= 126)) throw new EntityParseError(`Character '\\' at byte offset ${i} must be followed by a character to escape`);
      out += text[i + 1];
      i += 2;
    } else if (top === '`' || top === '```') {
      if (text.startsWith(top, i)) {
        open.pop();
        i += top.length;
      } else {
        out += c;
        i += 1;
      }
    } else if (c === '[' || (c === '!' && text[i + 1] === '[')) {
      if (link !== undefined) throw new EntityParseError(`Nested links are not allowed at byte offset ${i}`);
      link = i;
      i += c === '!' ? 2 : 1;
    } else if (c === ']' && link !== undefined) {
      if (text[i + 1] !== '(') throw new EntityParseError(`Can't find end of a link URL at byte offset ${i}`);
      let j = i + 2;
      while (j < text.length && text[j] !== ')') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new EntityParseError(`Can't find end of a URL at byte offset ${i}`);
      link = undefined;
      i = j + 1;
    } else if (c === '>' && (i === 0 || text[i - 1] === '\n')) {
      i += 1; // a quotation line
    } else {
      const mark = ['```', '||', '__', '`', '*', '_', '~'].find((m) => text.startsWith(m, i));
      if (mark) {
        if (top === mark) open.pop();
        else open.push({ mark, at: i });
        i += mark.length;
      } else if (RESERVED.includes(c)) {
        throw new EntityParseError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
      } else {
        out += c;
        i += 1;
      }
    }
  }
  if (link !== undefined) throw new EntityParseError(`Can't find end of a link starting at byte offset ${link}`);
  const last = open[open.length - 1];
  if (last) throw new EntityParseError(`Can't find end of ${MARK_NAMES[last.mark]} entity at byte offset ${last.at}`);
  return out;
}
