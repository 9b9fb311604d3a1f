import type http from 'node:http';
import { HttpFake, readRequest, type FakeRequest } from './http-fake';

/*
 * A local Slack: incoming webhooks (`/services/T…/B…/…`, plain-text `ok` or error codes with their statuses)
 * and the Web API under `/api/<method>` (HTTP 200 `{ok:false, error}` failures, 429 + Retry-After), with
 * channels, tokens and messages kept as state. Shapes and codes per shared/reference/provider-apis.md §1.
 */

/** One request as the fake saw it. */
export interface SlackRequest extends FakeRequest {
  /** The HTTP method (the same as `method`). */
  verb: string;
  /** Web API method name (`chat.postMessage`), or `hook` for an incoming webhook. */
  apiMethod: string;
}

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  isArchived?: boolean;
  /** Whether the bot is in the channel (false: chat.postMessage answers not_in_channel). Default true. */
  botIsMember?: boolean;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: any[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  /** The bot that posted it (`hook` for an incoming webhook). */
  botId: string;
  edits: number;
}

export interface FakeToken {
  team: string;
  user: string;
  botId: string;
  /** When set, every call with the token fails with this error (token_revoked, account_inactive, ...). */
  error?: string;
}

/** A scripted answer for the next call of a method (or `hook`). */
export interface ScriptedReply {
  /** HTTP status; 200 by default (429 when retryAfter is given). */
  status?: number;
  /** Slack error code: `{ok:false,error}` for the Web API, the plain-text body for webhooks. */
  error?: string;
  /** Seconds, sent as Retry-After (with a 429 and `ratelimited` unless status/error say otherwise). */
  retryAfter?: number;
  /** A raw body instead of the usual shape. */
  body?: string;
  /** Extra fields merged into a Web API error body (e.g. response_metadata). */
  extra?: Record<string, unknown>;
}

/** HTTP status of each incoming-webhook error (api.slack.com changelog 2016-05-17 and observed codes). */
export const HOOK_ERROR_STATUS: Record<string, number> = {
  invalid_payload: 400, user_not_found: 400, no_text: 400, too_many_attachments: 400,
  action_prohibited: 403, invalid_token: 403, posting_to_general_channel_denied: 403,
  channel_not_found: 404, no_service: 404, no_active_hooks: 404, channel_is_archived: 410, rollup_error: 500,
};

export class FakeSlack extends HttpFake<SlackRequest> {
  readonly channels = new Map<string, FakeChannel>();
  readonly messages: FakeMessage[] = [];
  readonly tokens = new Map<string, FakeToken>();
  /** Webhook path → the channel it posts to, or an error code it always answers (a removed hook: no_service). */
  readonly hooks = new Map<string, { channel: string; error?: string }>();
  /** conversations.list pages are never longer than this, whatever `limit` asks. */
  maxPageSize = 200;
  private readonly scripts = new Map<string, ScriptedReply[]>();
  private seq = 0;

  /** The server's base URL (webhooks are under it). */
  get url(): string {
    return this.origin;
  }

  get apiBaseUrl(): string {
    return `${this.url}/api`;
  }


  addToken(token: string, info: Partial<FakeToken> = {}): this {
    this.tokens.set(token, { team: 'Acme Ops', user: 'hubbot', botId: 'B0HUBBOT', ...info });
    return this;
  }

  addChannel(channel: FakeChannel): this {
    this.channels.set(channel.id, { botIsMember: true, ...channel });
    return this;
  }

  /** Registers an incoming webhook posting to `channel`; returns its URL. */
  addHook(path: string, channel: string): string {
    this.hooks.set(path, { channel });
    return `${this.url}${path}`;
  }

  /** Queues answers for the next calls of `apiMethod` (or `hook`), before the normal handling. */
  script(apiMethod: string, ...replies: ScriptedReply[]): this {
    this.scripts.set(apiMethod, [...(this.scripts.get(apiMethod) ?? []), ...replies]);
    return this;
  }

  calls(apiMethod: string): SlackRequest[] {
    return this.requests.filter((r) => r.apiMethod === apiMethod);
  }

  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Top-level messages (not thread replies) of a channel, oldest first. */
  topLevel(channel: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.thread_ts);
  }

  deleteMessage(channel: string, ts: string): void {
    const i = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    if (i >= 0) this.messages.splice(i, 1);
  }

  reset(): void {
    this.requests.length = 0;
    this.messages.length = 0;
    this.scripts.clear();
  }

  protected override handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const base = readRequest(req, body);
    const hook = base.path.startsWith('/services/');
    const apiMethod = hook ? 'hook' : base.path.replace(/^\/api\//, '');
    const r: SlackRequest = { ...base, verb: base.method, apiMethod };
    this.requests.push(r);
    if (hook) return this.handleHook(r, res);
    if (!base.path.startsWith('/api/')) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    this.handleApi(r, res);
  }

  private handleHook(r: SlackRequest, res: http.ServerResponse): void {
    const text = (status: number, out: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/html', ...headers }).end(out);
    };
    const scripted = this.scripts.get('hook')?.shift();
    if (scripted) {
      if (scripted.body !== undefined || scripted.error === undefined) {
        return text(scripted.status ?? (scripted.retryAfter ? 429 : 200), scripted.body ?? '', retryHeader(scripted));
      }
      return text(scripted.status ?? HOOK_ERROR_STATUS[scripted.error] ?? 400, scripted.error, retryHeader(scripted));
    }
    const hook = this.hooks.get(r.path);
    if (!hook) return text(404, 'no_service');
    if (hook.error) return text(HOOK_ERROR_STATUS[hook.error] ?? 400, hook.error);
    if (!String(r.headers['content-type']).startsWith('application/json') || r.json === undefined) return text(400, 'invalid_payload');
    if (!r.json.text && !r.json.blocks) return text(400, 'no_text');
    const channel = this.channels.get(hook.channel);
    if (!channel) return text(404, 'channel_not_found');
    if (channel.isArchived) return text(410, 'channel_is_archived');
    this.messages.push({ channel: hook.channel, ts: this.nextTs(), text: r.json.text, blocks: r.json.blocks, botId: 'hook', edits: 0 });
    text(200, 'ok');
  }

  private handleApi(r: SlackRequest, res: http.ServerResponse): void {
    const send = (status: number, out: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(out));
    };
    const fail = (error: string, extra: Record<string, unknown> = {}) => send(200, { ok: false, error, ...extra });

    const auth = /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''));
    if (!auth) return fail('not_authed');
    const token = this.tokens.get(auth[1]);
    if (!token) return fail('invalid_auth');
    if (token.error) return fail(token.error);

    const scripted = this.scripts.get(r.apiMethod)?.shift();
    if (scripted) {
      const status = scripted.status ?? (scripted.retryAfter !== undefined ? 429 : 200);
      if (scripted.body !== undefined) return void res.writeHead(status, retryHeader(scripted)).end(scripted.body);
      const error = scripted.error ?? (status === 429 ? 'ratelimited' : 'internal_error');
      return send(status, { ok: false, error, ...scripted.extra }, retryHeader(scripted));
    }
    if (r.verb === 'POST' && r.body && !String(r.headers['content-type'] ?? '').startsWith('application/json')) return fail('invalid_post_type');
    const args: Record<string, any> = { ...Object.fromEntries(r.query), ...(r.json ?? {}) };
    switch (r.apiMethod) {
      case 'auth.test':
        return send(200, { ok: true, url: 'https://acme-ops.slack.com/', team: token.team, user: token.user, team_id: 'T0ACME', user_id: 'U0HUBBOT', bot_id: token.botId });
      case 'conversations.list':
        return send(200, this.listChannels(args));
      case 'chat.postMessage':
        return send(200, this.postMessage(args, token));
      case 'chat.update':
        return send(200, this.updateMessage(args, token));
      default:
        return fail('unknown_method');
    }
  }

  private listChannels(args: Record<string, any>): Record<string, unknown> {
    const types = String(args.types ?? 'public_channel').split(',');
    const all = [...this.channels.values()].filter(
      (c) =>
        types.includes(c.isPrivate ? 'private_channel' : 'public_channel') &&
        (!c.isPrivate || c.botIsMember) && // private channels are invisible to a bot outside them
        !(String(args.exclude_archived) === 'true' && c.isArchived),
    );
    const offset = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64').toString().replace('offset:', '')) : 0;
    const size = Math.min(Number(args.limit ?? 100), this.maxPageSize);
    const page = all.slice(offset, offset + size);
    const next = offset + size < all.length ? Buffer.from(`offset:${offset + size}`).toString('base64') : '';
    return {
      ok: true,
      channels: page.map((c) => ({ id: c.id, name: c.name, is_channel: true, is_private: !!c.isPrivate, is_archived: !!c.isArchived, is_member: !!c.botIsMember })),
      response_metadata: { next_cursor: next },
    };
  }

  private postMessage(args: Record<string, any>, token: FakeToken): Record<string, unknown> {
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel || (channel.isPrivate && !channel.botIsMember)) return { ok: false, error: 'channel_not_found' };
    if (channel.isArchived) return { ok: false, error: 'is_archived' };
    if (!channel.botIsMember) return { ok: false, error: 'not_in_channel' };
    const problem = contentProblem(args);
    if (problem) return problem;
    const message: FakeMessage = {
      channel: channel.id, ts: this.nextTs(), text: args.text, blocks: args.blocks, botId: token.botId, edits: 0,
      ...(args.thread_ts ? { thread_ts: String(args.thread_ts), reply_broadcast: !!args.reply_broadcast } : {}),
    };
    this.messages.push(message);
    return { ok: true, channel: channel.id, ts: message.ts, message: { type: 'message', subtype: 'bot_message', bot_id: token.botId, ...message } };
  }

  private updateMessage(args: Record<string, any>, token: FakeToken): Record<string, unknown> {
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (channel.isArchived) return { ok: false, error: 'is_archived' };
    const message = this.message(channel.id, String(args.ts ?? ''));
    if (!message) return { ok: false, error: 'message_not_found' };
    if (message.botId !== token.botId) return { ok: false, error: 'cant_update_message' };
    const problem = contentProblem(args);
    if (problem) return problem;
    if (args.text !== undefined) message.text = args.text;
    if (args.blocks !== undefined) message.blocks = args.blocks; // omitted blocks stay; [] clears them
    message.edits += 1;
    return { ok: true, channel: channel.id, ts: message.ts, text: message.text, message: { ...message } };
  }

  private nextTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }
}

function retryHeader(reply: ScriptedReply): Record<string, string> {
  return reply.retryAfter !== undefined ? { 'retry-after': String(reply.retryAfter) } : {};
}

/** Slack's content checks: text or blocks, 40,000 text chars, 50 blocks, per-block text limits. */
function contentProblem(args: Record<string, any>): Record<string, unknown> | undefined {
  const blocks = args.blocks;
  if (!args.text && !(Array.isArray(blocks) && blocks.length > 0)) return { ok: false, error: 'no_text' };
  if (typeof args.text === 'string' && args.text.length > 40_000) return { ok: false, error: 'msg_too_long' };
  if (blocks === undefined) return undefined;
  const invalid = (message: string) => ({ ok: false, error: 'invalid_blocks', errors: [message], response_metadata: { messages: [`[ERROR] ${message}`] } });
  if (!Array.isArray(blocks)) return invalid('blocks must be an array');
  if (blocks.length > 50) return invalid('no more than 50 items allowed [json-pointer:/blocks]');
  for (const [i, b] of blocks.entries()) {
    const at = `[json-pointer:/blocks/${i}]`;
    if (b.type === 'header' && (b.text?.type !== 'plain_text' || String(b.text?.text).length > 150)) return invalid(`header text must be plain_text of at most 150 characters ${at}`);
    if (b.type === 'section') {
      if (b.text && String(b.text.text).length > 3000) return invalid(`must be less than 3001 characters ${at}/text/text`);
      if (b.fields && (b.fields.length > 10 || b.fields.some((f: any) => String(f.text).length > 2000))) return invalid(`fields: at most 10 of 2000 characters ${at}`);
      if (!b.text && !b.fields) return invalid(`section needs text or fields ${at}`);
    }
    if (b.type === 'context' && (!Array.isArray(b.elements) || b.elements.length > 10)) return invalid(`context needs 1 to 10 elements ${at}`);
  }
  return undefined;
}
