import type { GuardedHttpClient, OptionItem, OutboundResponse } from '../types';
import { apiBase, type WebexConnection } from './config';
import { parseWebexError } from './classify';

/** Most pages of rooms the resolver reads (100 rooms each). */
const MAX_ROOM_PAGES = 50;

/** Webex answered a read (rooms, identity) with an error; the message is readable and holds no token. */
export class WebexRefusal extends Error {
  override readonly name = 'WebexRefusal';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A thin Webex REST client over the guarded HTTP client: bearer auth, JSON in and out. */
export class WebexApi {
  private readonly base: string;

  constructor(
    private readonly http: GuardedHttpClient,
    private readonly connection: WebexConnection,
  ) {
    this.base = apiBase(connection);
  }

  /** Sends one request; `path` starts with `/` (relative to the API base) or is an absolute URL on it. */
  request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<OutboundResponse> {
    return this.http.request({
      method,
      url: path.startsWith('/') ? this.base + path : path,
      headers: {
        authorization: `Bearer ${this.connection.botToken}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** `POST /messages`: a new message, or a thread reply when `parentId` is given. */
  postMessage(roomId: string, markdown: string, parentId?: string): Promise<OutboundResponse> {
    return this.request('POST', '/messages', { roomId, ...(parentId ? { parentId } : {}), markdown });
  }

  /** `PUT /messages/{id}`: replaces the markdown of a message the bot posted (at most 10 times). */
  editMessage(messageId: string, roomId: string, markdown: string): Promise<OutboundResponse> {
    return this.request('PUT', `/messages/${encodeURIComponent(messageId)}`, { roomId, markdown });
  }

  /**
   * The group spaces the bot is in, as dropdown choices sorted by title. Follows `Link: <...>; rel="next"`
   * only while it stays on the configured API (the bearer token must not travel elsewhere).
   * Throws an Error with a readable, token-free message when Webex refuses.
   */
  async listRooms(): Promise<OptionItem[]> {
    const rooms: OptionItem[] = [];
    let url: string | undefined = `${this.base}/rooms?type=group&max=100`;
    for (let page = 0; url && page < MAX_ROOM_PAGES; page++) {
      const res = await this.request('GET', url);
      if (res.status < 200 || res.status >= 300) throw refusal('listing rooms', res);
      const items = readItems(res.body);
      for (const item of items) {
        if (typeof item.id === 'string' && item.id) rooms.push({ value: item.id, label: typeof item.title === 'string' && item.title ? item.title : item.id });
      }
      url = nextLink(res.headers['link'], this.base);
    }
    return rooms.sort((a, b) => a.label.localeCompare(b.label));
  }

  /** `GET /people/me`: who the token belongs to. */
  async me(): Promise<{ displayName: string; type?: string }> {
    const res = await this.request('GET', '/people/me');
    if (res.status < 200 || res.status >= 300) throw refusal('reading the bot identity', res);
    const body = parseObject(res.body);
    const displayName = typeof body.displayName === 'string' && body.displayName ? body.displayName : '(unnamed)';
    return { displayName, ...(typeof body.type === 'string' ? { type: body.type } : {}) };
  }
}

/** "Webex refused listing rooms: HTTP 401 (...): <message> (trackingId …)"; the caller sanitises. */
function refusal(action: string, res: OutboundResponse): WebexRefusal {
  const { message, trackingId } = parseWebexError(res);
  const hint = res.status === 401 ? ' (the bot token is invalid, expired or revoked)' : '';
  const detail = `${message ? `: ${message.slice(0, 300)}` : ''}${trackingId ? ` (trackingId ${trackingId})` : ''}`;
  return new WebexRefusal(res.status, `Webex refused ${action}: HTTP ${res.status}${hint}${detail}`);
}

function parseObject(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function readItems(body: string): Record<string, unknown>[] {
  const items = parseObject(body).items;
  return Array.isArray(items) ? items.filter((i): i is Record<string, unknown> => !!i && typeof i === 'object') : [];
}

/** The rel="next" target of an RFC 8288 Link header, when it lies under `base`. */
export function nextLink(header: string | undefined, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const rels = match[2]
      .split(';')
      .map((param) => /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(param)?.[1])
      .find((value) => value !== undefined);
    if (!rels?.toLowerCase().split(/\s+/).includes('next')) continue;
    return isUnder(match[1], base) ? match[1] : undefined;
  }
  return undefined;
}

function isUnder(url: string, base: string): boolean {
  try {
    const target = new URL(url);
    const root = new URL(`${base}/`);
    return target.origin === root.origin && target.pathname.startsWith(root.pathname);
  } catch {
    return false;
  }
}
