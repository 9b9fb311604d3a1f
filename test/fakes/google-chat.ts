import crypto from 'node:crypto';
import { HttpFake, type FakeAnswer, type FakeRequest } from './http-fake';

/**
 * A local Google Chat incoming-webhook endpoint (provider-apis.md section 6): `POST /v1/spaces/<S>/messages`
 * authorised by the `key` and `token` query parameters. Strict like the real one: JSON with
 * `Content-Type: application/json; charset=UTF-8`, only Message fields, `text` and/or well-formed `cardsV2`,
 * at most 32,000 bytes; threads by `thread.threadKey` (or the deprecated `threadKey` query parameter) and
 * `messageReplyOption`. Errors use Google's `{"error": {code, message, status}}`; any answer can be scripted.
 */

export type ChatRequest = FakeRequest;

export interface ChatMessage {
  name: string;
  space: string;
  text?: string;
  cardsV2?: { cardId: string; card: any }[];
  thread: { name: string; threadKey?: string };
  createTime: string;
}

export interface ChatScript {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export const MAX_MESSAGE_BYTES = 32_000;
const MESSAGE_FIELDS = new Set(['text', 'cardsV2', 'thread', 'fallbackText', 'accessoryWidgets', 'formattedText']);
const REPLY_OPTIONS = new Set(['MESSAGE_REPLY_OPTION_UNSPECIFIED', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD', 'REPLY_MESSAGE_OR_FAIL']);
const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function googleError(code: number, message: string) {
  return { error: { code, message, status: STATUS[code] ?? 'UNKNOWN' } };
}

export class FakeGoogleChat extends HttpFake<ChatRequest> {
  readonly messages: ChatMessage[] = [];
  readonly script: ChatScript[] = [];
  /** space -> its webhook's `token`; the `key` is the same for every webhook. */
  readonly spaces = new Map<string, string>();
  readonly key = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI';
  private readonly threads = new Map<string, string>(); // `${space}|${threadKey}` -> thread name

  /** Adds a space with one incoming webhook; returns the webhook URL. */
  addSpace(): { space: string; webhookUrl: string } {
    const space = `AAAA${crypto.randomBytes(6).toString('base64url')}`;
    const token = crypto.randomBytes(32).toString('base64url');
    this.spaces.set(space, token);
    return { space, webhookUrl: `${this.origin}/v1/spaces/${space}/messages?key=${this.key}&token=${encodeURIComponent(token)}` };
  }

  /** Deletes a space's webhook: posts to it answer 404 from now on. */
  removeSpace(space: string): void {
    this.spaces.delete(space);
  }

  messagesIn(space: string): ChatMessage[] {
    return this.messages.filter((m) => m.space === space);
  }

  postsTo(space: string): ChatRequest[] {
    return this.requests.filter((r) => r.path === `/v1/spaces/${space}/messages`);
  }

  protected override defaultHeaders(): Record<string, string> {
    return { 'content-type': 'application/json; charset=UTF-8' };
  }

  protected override answer(r: ChatRequest): FakeAnswer {
    const [status, body, headers] = this.reply(r);
    return { status, body: JSON.stringify(body), headers };
  }

  private reply(r: ChatRequest): [number, unknown, Record<string, string>] {
    const match = /^\/v1\/spaces\/([^/]+)\/messages$/.exec(r.path);
    if (!match) return [404, googleError(404, 'Requested entity was not found.'), {}];
    if (r.method !== 'POST') return [405, googleError(400, `Method ${r.method} not allowed for webhooks.`), {}];
    const space = match[1];
    if (r.query.get('key') !== this.key) return [400, googleError(400, 'API key not valid. Please pass a valid API key.'), {}];
    const token = this.spaces.get(space);
    if (token === undefined) return [404, googleError(404, 'Requested entity was not found.'), {}];
    if (r.query.get('token') !== token) return [401, googleError(401, 'Request had invalid authentication credentials.'), {}];
    const scripted = this.script.shift();
    if (scripted) return [scripted.status, scripted.body ?? googleError(scripted.status, `scripted ${scripted.status}`), scripted.headers ?? {}];
    if (!/^application\/json; ?charset=utf-8$/i.test(String(r.headers['content-type'] ?? ''))) {
      return [400, googleError(400, 'Invalid JSON payload received. Content-Type must be application/json; charset=UTF-8.'), {}];
    }
    const b = r.json;
    if (!b || typeof b !== 'object' || Array.isArray(b)) return [400, googleError(400, 'Invalid JSON payload received.'), {}];
    const unknown = Object.keys(b).find((k) => !MESSAGE_FIELDS.has(k));
    if (unknown) return [400, googleError(400, `Invalid JSON payload received. Unknown name "${unknown}" at 'message': Cannot find field.`), {}];
    if (Buffer.byteLength(r.body, 'utf8') > MAX_MESSAGE_BYTES) return [400, googleError(400, 'Message exceeds maximum size of 32000 bytes.'), {}];
    if (b.text !== undefined && typeof b.text !== "string") return [400, googleError(400, "Invalid value at 'message.text'"), {}];
    const cardProblem = checkCards(b.cardsV2);
    if (cardProblem) return [400, googleError(400, cardProblem), {}];
    if (!b.text && !b.cardsV2) return [400, googleError(400, 'Message cannot be empty. Discarding empty message.'), {}];

    const option = r.query.get('messageReplyOption') ?? 'MESSAGE_REPLY_OPTION_UNSPECIFIED';
    if (!REPLY_OPTIONS.has(option)) return [400, googleError(400, `Invalid value at 'message_reply_option' (${option})`), {}];
    const bodyKey = b.thread?.threadKey;
    const queryKey = r.query.get('threadKey') ?? undefined;
    if (bodyKey !== undefined && typeof bodyKey !== 'string') return [400, googleError(400, "Invalid value at 'message.thread.thread_key'"), {}];
    if (bodyKey !== undefined && queryKey !== undefined && bodyKey !== queryKey) {
      return [400, googleError(400, 'thread_key in the query and the body differ.'), {}];
    }
    const threadKey: string | undefined = bodyKey ?? queryKey;
    const name = `spaces/${space}/messages/${crypto.randomBytes(8).toString('base64url')}`;
    let thread: ChatMessage['thread'];
    const existing = threadKey ? this.threads.get(`${space}|${threadKey}`) : undefined;
    if (option !== 'MESSAGE_REPLY_OPTION_UNSPECIFIED' && existing) thread = { name: existing, threadKey };
    else {
      thread = { name: `spaces/${space}/threads/${crypto.randomBytes(8).toString('base64url')}`, ...(threadKey ? { threadKey } : {}) };
      // a key used without a reply option starts a thread of its own each time, as Chat does
      if (threadKey && option !== 'MESSAGE_REPLY_OPTION_UNSPECIFIED') this.threads.set(`${space}|${threadKey}`, thread.name);
    }
    const message: ChatMessage = { name, space, ...(b.text ? { text: b.text } : {}), ...(b.cardsV2 ? { cardsV2: b.cardsV2 } : {}), thread, createTime: new Date().toISOString() };
    this.messages.push(message);
    return [200, { ...message, space: { name: `spaces/${space}`, type: 'ROOM' }, sender: { name: 'users/114022495153014004089', type: 'BOT', displayName: 'Hub webhook' } }, {}];
  }
}

/** What Chat would refuse in `cardsV2`, or undefined. */
function checkCards(cards: unknown): string | undefined {
  if (cards === undefined) return undefined;
  if (!Array.isArray(cards) || cards.length === 0 || cards.length > 100) return "Invalid value at 'message.cards_v2'";
  for (const [i, c] of cards.entries()) {
    if (!c || typeof c !== 'object' || typeof c.cardId !== 'string' || !c.cardId) return `Invalid value at 'message.cards_v2[${i}].card_id'`;
    const card = c.card;
    if (!card || typeof card !== 'object') return `Invalid value at 'message.cards_v2[${i}].card'`;
    if (card.header !== undefined && typeof card.header?.title !== 'string') return `Invalid value at 'message.cards_v2[${i}].card.header.title'`;
    if (!Array.isArray(card.sections) || card.sections.length === 0) return `Invalid value at 'message.cards_v2[${i}].card.sections'`;
    for (const s of card.sections) {
      if (!Array.isArray(s?.widgets) || s.widgets.length === 0) return 'Each card section needs widgets.';
      for (const w of s.widgets) {
        const kinds = Object.keys(w ?? {});
        if (kinds.length !== 1 || !['decoratedText', 'textParagraph', 'buttonList', 'image', 'divider'].includes(kinds[0])) {
          return `A widget must have exactly one known type (got ${kinds.join(',') || 'none'}).`;
        }
        if (kinds[0] === 'decoratedText' && typeof w.decoratedText.text !== 'string') return 'decoratedText.text is required.';
        if (kinds[0] === 'textParagraph' && typeof w.textParagraph.text !== 'string') return 'textParagraph.text is required.';
        if (kinds[0] === 'buttonList') {
          for (const b of w.buttonList.buttons ?? []) {
            if (typeof b?.text !== 'string' || typeof b?.onClick?.openLink?.url !== 'string') return 'A button needs text and onClick.openLink.url.';
          }
        }
      }
    }
  }
  return undefined;
}
