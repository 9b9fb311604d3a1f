import { outcomeFromError } from '../http/outcome';
import type { GuardedHttpClient, OutboundResponse } from '../types';
import { classifyApiFailure, type SlackApiBody, type SlackFailure } from './classify';
import type { SlackConnection } from './config';

/** The result of one Web API call: Slack's `ok: true` body, or the failure already classified. */
export type SlackApiResult = { ok: true; body: SlackApiBody; res: OutboundResponse } | { ok: false; failure: SlackFailure };

/** A Web API client for one connection; every call goes through the guarded client. */
export class SlackApi {
  constructor(
    private readonly http: GuardedHttpClient,
    private readonly connection: SlackConnection,
  ) {}

  /** The token (and its forms) to keep out of every error text. */
  get secrets(): string[] {
    return [this.connection.botToken];
  }

  /** POSTs a JSON body to `method` (e.g. chat.postMessage) with the bot token. `channel` only labels errors. */
  post(method: string, body: Record<string, unknown>, channel?: string): Promise<SlackApiResult> {
    return this.call('POST', method, JSON.stringify(body), channel);
  }

  /** GETs a read method (e.g. conversations.list) with query parameters. */
  get(method: string, query: Record<string, string>): Promise<SlackApiResult> {
    const qs = new URLSearchParams(query).toString();
    return this.call('GET', qs ? `${method}?${qs}` : method);
  }

  private async call(verb: 'GET' | 'POST', path: string, body?: string, channel?: string): Promise<SlackApiResult> {
    const method = path.split('?')[0];
    const headers: Record<string, string> = { authorization: `Bearer ${this.connection.botToken}` };
    // Slack warns (missing_charset) and may misread non-ASCII text without the charset
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    let res: OutboundResponse;
    try {
      res = await this.http.request({ method: verb, url: `${this.connection.apiBaseUrl}/${path}`, headers, body });
    } catch (err) {
      return { ok: false, failure: outcomeFromError(err, this.secrets) as SlackFailure };
    }
    const parsed = parseBody(res.body);
    if (res.status >= 200 && res.status < 300 && parsed?.ok === true) return { ok: true, body: parsed, res };
    return { ok: false, failure: classifyApiFailure(res, parsed, { method, channel, secrets: this.secrets }) };
  }
}

function parseBody(text: string): SlackApiBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as SlackApiBody) : undefined;
  } catch {
    return undefined;
  }
}
