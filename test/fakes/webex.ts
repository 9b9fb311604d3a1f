import crypto from 'node:crypto';
import { HttpFake, takeScripted, type FakeAnswer, type FakeRequest } from './http-fake';

/**
 * A local Webex REST API (provider-apis.md section 3): `/v1/people/me`, `/v1/rooms` (Link-header pages),
 * `POST /v1/messages` (with `parentId` threads) and `PUT /v1/messages/{id}` (at most 10 edits).
 * Bearer tokens are checked the way Webex does, errors carry Webex's body `{message, errors, trackingId}`,
 * and any answer can be scripted (429/423 with Retry-After, 5xx, ...).
 */

/** One request as the fake saw it; `json` is the parsed body when it was JSON. */
export type WebexRequest = FakeRequest;

/** A stored message, as Webex returns it, plus the number of edits it has had. */
export interface WebexMessage {
  id: string;
  roomId: string;
  roomType: 'group';
  parentId?: string;
  markdown?: string;
  text?: string;
  html: string;
  personId: string;
  personEmail: string;
  created: string;
  updated?: string;
  edits: number;
}

export interface WebexRoom {
  id: string;
  title: string;
  type: 'group' | 'direct';
  /** The bot is a member; posting in a room it is not in answers 404 like Webex. */
  member: boolean;
}

/** A scripted answer for the next request that matches `method` and `path` (a prefix of the path, e.g. "/v1/messages"). */
export interface WebexScript {
  method?: string;
  path?: string;
  status: number;
  headers?: Record<string, string>;
  /** JSON body; defaults to Webex's error shape with a message for the status. */
  body?: unknown;
}

export const EDIT_LIMIT = 10;
export const MAX_MESSAGE_BYTES = 7439;
const UNAUTHORIZED = 'The request requires a valid access token set in the Authorization request header.';

/** A Webex-style id: base64 of `ciscospark://us/<KIND>/<uuid>`, unpadded. */
export function webexId(kind: 'MESSAGE' | 'ROOM' | 'PEOPLE'): string {
  return Buffer.from(`ciscospark://us/${kind}/${crypto.randomUUID()}`).toString('base64').replace(/=+$/, '');
}

export class FakeWebex extends HttpFake<WebexRequest> {
  readonly messages = new Map<string, WebexMessage>();
  readonly rooms: WebexRoom[] = [];
  readonly script: WebexScript[] = [];
  readonly bot = { id: webexId('PEOPLE'), displayName: 'Status Bot', email: 'status-bot@webex.bot' };
  /** Tokens that are accepted; revoking one makes every call with it answer 401. */
  readonly tokens = new Set<string>();

  constructor(token: string) {
    super();
    this.tokens.add(token);
  }

  /** Adds a group space the bot is a member of (or not); returns its id. */
  addRoom(title: string, opts: { member?: boolean; type?: 'group' | 'direct' } = {}): string {
    const id = webexId('ROOM');
    this.rooms.push({ id, title, type: opts.type ?? 'group', member: opts.member ?? true });
    return id;
  }

  /** Requests for `method` whose path starts with `prefix`. */
  at(method: string, prefix: string): WebexRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix));
  }

  /** Messages in a room, oldest first; `parentId` filters to the replies of one message. */
  messagesIn(roomId: string, parentId?: string): WebexMessage[] {
    return [...this.messages.values()].filter((m) => m.roomId === roomId && (parentId === undefined || m.parentId === parentId));
  }

  /** Base URL to configure as `apiBaseUrl` (ends in /v1). */
  get url(): string {
    return `${this.origin}/v1`;
  }

  protected override defaultHeaders(): Record<string, string> {
    return { 'content-type': 'application/json;charset=UTF-8' };
  }

  protected override answer(r: WebexRequest): FakeAnswer {
    const [status, payload, headers] = this.reply(r, new URL(r.url, 'http://fake'));
    const trackingId = `FAKE_${crypto.randomUUID()}`;
    const out = status === 204 ? '' : JSON.stringify(payload && typeof payload === 'object' && status >= 400 && !('trackingId' in payload) ? { ...payload, trackingId } : payload);
    return { status, body: out, headers: { trackingid: trackingId, ...headers } };
  }

  private reply(r: WebexRequest, url: URL): [number, unknown, Record<string, string>] {
    const auth = r.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token || !this.tokens.has(token)) return [401, error(UNAUTHORIZED), {}];
    const s = takeScripted(this.script, (x) => (!x.method || x.method === r.method) && (!x.path || r.path.startsWith(x.path)));
    if (s) {
      return [s.status, s.body ?? error(defaultMessage(s.status)), s.headers ?? {}];
    }
    if (r.method === 'GET' && r.path === '/v1/people/me') {
      return [200, { id: this.bot.id, emails: [this.bot.email], displayName: this.bot.displayName, nickName: this.bot.displayName, orgId: webexId('PEOPLE'), created: '2024-01-01T00:00:00.000Z', type: 'bot' }, {}];
    }
    if (r.method === 'GET' && r.path === '/v1/rooms') return this.listRooms(url);
    if (r.method === 'POST' && r.path === '/v1/messages') return this.create(r);
    const edit = /^\/v1\/messages\/([^/]+)$/.exec(r.path);
    if (r.method === 'PUT' && edit) return this.edit(decodeURIComponent(edit[1]), r);
    return [404, error('The requested resource could not be found.'), {}];
  }

  private listRooms(url: URL): [number, unknown, Record<string, string>] {
    const max = Number(url.searchParams.get('max') ?? 100);
    if (!Number.isInteger(max) || max < 1 || max > 1000) return [400, error('max must be between 1 and 1000'), {}];
    const type = url.searchParams.get('type');
    const visible = this.rooms.filter((room) => room.member && (!type || room.type === type));
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = visible.slice(start, start + max).map((room) => ({
      id: room.id,
      title: room.title,
      type: room.type,
      isLocked: false,
      lastActivity: '2025-03-01T10:00:00.000Z',
      creatorId: this.bot.id,
      created: '2025-01-01T10:00:00.000Z',
    }));
    const headers: Record<string, string> = {};
    if (start + max < visible.length) {
      const next = new URL(`${this.url}/rooms`);
      if (type) next.searchParams.set('type', type);
      next.searchParams.set('max', String(max));
      next.searchParams.set('cursor', String(start + max));
      headers.link = `<${next}>; rel="next"`;
    }
    return [200, { items: page }, headers];
  }

  private room(roomId: unknown): WebexRoom | undefined {
    return this.rooms.find((room) => room.id === roomId && room.member);
  }

  private create(r: WebexRequest): [number, unknown, Record<string, string>] {
    const b = r.json;
    if (!b || typeof b !== 'object') return [400, error('Unable to parse the request body as JSON.'), {}];
    if (typeof b.roomId !== 'string') return [400, error('roomId, toPersonId or toPersonEmail is required.'), {}];
    if (typeof b.markdown !== 'string' && typeof b.text !== 'string') return [400, error('text, markdown, files or attachments is required.'), {}];
    const tooLong = tooLongField(b);
    if (tooLong) return [400, error(`The ${tooLong} exceeds the maximum length of ${MAX_MESSAGE_BYTES} bytes.`), {}];
    if (!this.room(b.roomId)) return [404, error('Could not find a room with provided ID.'), {}];
    if (b.parentId !== undefined) {
      const parent = this.messages.get(b.parentId);
      if (!parent || parent.roomId !== b.roomId) return [404, error('Could not find the parent message.'), {}];
      if (parent.parentId) return [400, error('The parent message is itself a reply; replies cannot be nested.'), {}];
    }
    const message: WebexMessage = {
      id: webexId('MESSAGE'),
      roomId: b.roomId,
      roomType: 'group',
      ...(b.parentId ? { parentId: b.parentId } : {}),
      ...(typeof b.markdown === 'string' ? { markdown: b.markdown } : {}),
      ...(typeof b.text === 'string' ? { text: b.text } : {}),
      html: `<p>${String(b.markdown ?? b.text)}</p>`,
      personId: this.bot.id,
      personEmail: this.bot.email,
      created: new Date().toISOString(),
      edits: 0,
    };
    this.messages.set(message.id, message);
    return [200, view(message), {}];
  }

  private edit(id: string, r: WebexRequest): [number, unknown, Record<string, string>] {
    const b = r.json;
    const message = this.messages.get(id);
    if (!message || !this.room(message.roomId)) return [404, error('Could not find the message with the provided ID.'), {}];
    if (!b || typeof b !== 'object' || typeof b.roomId !== 'string') return [400, error('roomId is required.'), {}];
    if (b.html !== undefined) return [400, error('html cannot be set when editing a message.'), {}];
    if (typeof b.markdown !== 'string' && typeof b.text !== 'string') return [400, error('text or markdown is required.'), {}];
    if (b.roomId !== message.roomId) return [400, error('roomId does not match the message.'), {}];
    if (message.personId !== this.bot.id) return [403, error('Only the author can edit a message.'), {}];
    if (message.edits >= EDIT_LIMIT) return [400, error(`The edit limit of ${EDIT_LIMIT} has been reached for this message.`), {}];
    const tooLong = tooLongField(b);
    if (tooLong) return [400, error(`The ${tooLong} exceeds the maximum length of ${MAX_MESSAGE_BYTES} bytes.`), {}];
    message.markdown = typeof b.markdown === 'string' ? b.markdown : undefined;
    message.text = typeof b.text === 'string' ? b.text : undefined;
    message.html = `<p>${String(b.markdown ?? b.text)}</p>`;
    message.updated = new Date().toISOString();
    message.edits += 1;
    return [200, view(message), {}];
  }
}

function tooLongField(b: Record<string, unknown>): string | undefined {
  return ['markdown', 'text'].find((k) => typeof b[k] === 'string' && Buffer.byteLength(b[k] as string, 'utf8') > MAX_MESSAGE_BYTES);
}

/** The Message object as the API returns it (without the fake's edit counter). */
function view(m: WebexMessage): Omit<WebexMessage, 'edits'> {
  const { edits: _edits, ...rest } = m;
  return rest;
}

/** Webex's error body (the trackingId is added when the answer is written). */
export function error(message: string): { message: string; errors: { description: string }[] } {
  return { message, errors: [{ description: message }] };
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
      return UNAUTHORIZED;
    case 403:
      return 'Failed to post message: the bot is not a member of the space.';
    case 404:
      return 'Could not find a room with provided ID.';
    case 423:
      return 'The requested resource is temporarily unavailable.';
    case 429:
      return 'Too Many Requests';
    default:
      return status >= 500 ? 'Service Unavailable' : `HTTP ${status}`;
  }
}
