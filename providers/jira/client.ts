import type { GuardedHttpClient, OutboundResponse } from '../types';
import type { JiraConnection } from './config';

/** Which rich-text format the site takes: ADF documents (Cloud, REST v3) or wiki markup strings (Data Center, REST v2). */
export type RichText = 'adf' | 'wiki';

/**
 * A thin Jira REST client over the guarded HTTP client: the version, auth header and JSON handling of one
 * connection. It returns raw responses; classification is errors.ts's job.
 */
export class JiraClient {
  readonly apiVersion: '3' | '2';
  readonly richText: RichText;
  /** Every form the credentials take on the wire, for the sanitiser. */
  readonly secrets: string[];
  private readonly authorization: string;
  private readonly base: string;

  constructor(
    readonly connection: JiraConnection,
    private readonly http: GuardedHttpClient,
  ) {
    this.base = connection.baseUrl.replace(/\/+$/, '');
    if (connection.flavor === 'cloud') {
      const basic = Buffer.from(`${connection.email}:${connection.apiToken}`).toString('base64');
      this.apiVersion = '3';
      this.richText = 'adf';
      this.authorization = `Basic ${basic}`;
      this.secrets = [connection.apiToken, basic];
    } else {
      this.apiVersion = '2';
      this.richText = 'wiki';
      this.authorization = `Bearer ${connection.personalAccessToken}`;
      this.secrets = [connection.personalAccessToken];
    }
  }

  /** The path below the site for an API path, e.g. `issue` -> `/rest/api/3/issue`. */
  path(apiPath: string): string {
    return `/rest/api/${this.apiVersion}/${apiPath.replace(/^\/+/, '')}`;
  }

  get(apiPath: string): Promise<OutboundResponse> {
    return this.send('GET', apiPath);
  }

  post(apiPath: string, body: unknown): Promise<OutboundResponse> {
    return this.send('POST', apiPath, body);
  }

  private send(method: 'GET' | 'POST', apiPath: string, body?: unknown): Promise<OutboundResponse> {
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.http.request({
      method,
      url: this.base + this.path(apiPath),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

/** The JSON body of a response, or undefined when it is not JSON. */
export function jsonBody(res: OutboundResponse): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    return undefined;
  }
}

/** Encodes an issue key or id for a URL path. */
export function issuePath(key: string, rest = ''): string {
  return `issue/${encodeURIComponent(key)}${rest}`;
}
