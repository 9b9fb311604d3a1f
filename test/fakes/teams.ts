import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { HttpFake, readRequest, type FakeRequest } from './http-fake';

/**
 * A local stand-in for the three Microsoft endpoints the Teams provider talks to, with their real
 * request and response shapes (../../../shared/reference/provider-apis.md section 2; Microsoft Graph
 * and identity platform docs):
 * - Workflows (Power Automate) webhook trigger: POST /workflows/{id}/triggers/manual/paths/invoke?...&sig=
 *   → 202, no body; wrong sig 401, unknown flow 404, turned-off flow WorkflowTriggerIsNotEnabled.
 * - Microsoft identity platform: POST /{tenant}/oauth2/v2.0/token (client credentials) → {access_token,...};
 *   wrong secret 401 invalid_client (AADSTS7000215), unknown client 400 unauthorized_client, unknown tenant 400.
 * - Microsoft Graph v1.0: GET /teams, GET /teams/{id}/channels, POST .../messages, POST .../messages/{id}/replies,
 *   Bearer token checked (401 InvalidAuthenticationToken), unknown ids 404 NotFound, stateful messages and replies.
 * Any route can be scripted to answer otherwise (rate limits with Retry-After, 5xx, each permanent error).
 */

export type TeamsRoute = 'workflow' | 'token' | 'teams' | 'channels' | 'message' | 'reply' | 'unknown';

/** One request as the fake saw it. */
export interface TeamsRequest extends FakeRequest {
  route: TeamsRoute;
}

/** A scripted answer. */
export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface FakeMessage {
  id: string;
  body: { contentType: string; content: string };
  attachments: Array<{ id: string; contentType: string; content: string }>;
  /** The first attachment's card, parsed. */
  card: any;
  replies: FakeMessage[];
  createdDateTime: string;
}

interface FakeChannel {
  id: string;
  displayName: string;
  membershipType: string;
  messages: Map<string, FakeMessage>;
}

interface FakeTeam {
  id: string;
  displayName: string;
  channels: Map<string, FakeChannel>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(body),
});

const graphError = (status: number, code: string, message: string, headers: Record<string, string> = {}): FakeReply =>
  json(status, { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID() } } }, headers);

/** The documented error answers, to script with `fake.fail(route, ...)`. */
export const teamsErrors = {
  /** Graph throttling: 429 with Retry-After (seconds) and the TooManyRequests body. */
  graphRateLimited: (seconds: number) =>
    graphError(429, 'TooManyRequests', 'Too many requests from Identifier under tenant. Please try again later.', { 'retry-after': String(seconds) }),
  /** Power Automate throttling; `withHeader: false` leaves only the body's "Try again in N seconds". */
  flowRateLimited: (seconds: number, withHeader = true): FakeReply =>
    json(429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${seconds} seconds.` }, withHeader ? { 'retry-after': String(seconds) } : {}),
  serverError: (status = 503): FakeReply => graphError(status, 'ServiceUnavailable', 'The service is temporarily unavailable.'),
  /** What Graph answers an app-only token posting outside of import (migration) mode. */
  appOnlyRefused: (): FakeReply =>
    graphError(401, 'Unauthorized', 'Message POST is allowed in application-only context only for import purposes. Refer to https://docs.microsoft.com/microsoftteams/platform/graph-api/import-messages/import-external-messages-to-teams for more details.'),
  forbidden: (): FakeReply =>
    graphError(403, 'Forbidden', "Missing role permissions on the request. API requires one of 'ChannelMessage.Send, Teamwork.Migrate.All'. Roles on the request ''."),
  notFound: (): FakeReply => graphError(404, 'NotFound', 'Resource not found for the segment.'),
  /** A turned-off flow (Logic Apps answer; the status is not documented for Power Automate). */
  flowDisabled: (): FakeReply =>
    json(409, { error: { code: 'WorkflowTriggerIsNotEnabled', message: "Could not execute workflow trigger 'manual' with state 'Disabled': trigger is not enabled." } }),
  flowNotFound: (): FakeReply => json(404, { error: { code: 'WorkflowNotFound', message: 'The workflow could not be found.' } }),
};

const MESSAGE_LIMIT_BYTES = 28 * 1024;

/** The fake Microsoft endpoints; start() it, then point connections and webhook URLs at `url`. */
export class TeamsFake extends HttpFake<TeamsRequest> {
  readonly teams = new Map<string, FakeTeam>();
  /** Workflows by id: their signature and whether they are turned on. */
  readonly workflows = new Map<string, { sig: string; enabled: boolean }>();
  /** Every access token issued, in order. */
  readonly issuedTokens: string[] = [];
  /** Items per page of GET /teams (nextLink beyond). */
  pageSize = 100;
  private readonly validTokens = new Set<string>();
  private readonly scripts = new Map<TeamsRoute, FakeReply[]>();
  private nextMessageId = 1_700_000_000_000;

  constructor(
    readonly tenantId = randomUUID(),
    readonly clientId = randomUUID(),
    readonly clientSecret = `fake~secret~${randomBytes(12).toString('base64url')}`,
  ) {
    super();
  }

  /** The base URL of every fake endpoint. */
  get url(): string {
    return this.origin;
  }

  protected override record(req: http.IncomingMessage, body: string): TeamsRequest {
    const request: TeamsRequest = { ...readRequest(req, body), route: 'unknown' };
    request.route = routeOf(request);
    return request;
  }

  protected override answer(request: TeamsRequest) {
    return this.scripts.get(request.route)?.shift() ?? this.reply(request);
  }


  /** Connection config for the provider (app credentials pointing at this fake). */
  connection(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      tenantId: this.tenantId,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      authorityBaseUrl: this.url,
      graphBaseUrl: `${this.url}/v1.0`,
      ...overrides,
    };
  }

  /** Creates a turned-on workflow and returns its trigger URL (signature in `sig=`). */
  addWorkflow(): { id: string; sig: string; url: string } {
    const id = randomBytes(16).toString('hex');
    const sig = randomBytes(24).toString('base64url');
    this.workflows.set(id, { sig, enabled: true });
    const url = `${this.url}/workflows/${id}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`;
    return { id, sig, url };
  }

  addTeam(displayName: string, channelNames: string[] = ['General']): { id: string; channels: string[] } {
    const team: FakeTeam = { id: randomUUID(), displayName, channels: new Map() };
    for (const name of channelNames) {
      const channel: FakeChannel = {
        id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`,
        displayName: name,
        membershipType: name.startsWith('private-') ? 'private' : 'standard',
        messages: new Map(),
      };
      team.channels.set(channel.id, channel);
    }
    this.teams.set(team.id, team);
    return { id: team.id, channels: [...team.channels.keys()] };
  }

  /** The next answers of `route`, in order, before it behaves normally again. */
  fail(route: TeamsRoute, ...replies: FakeReply[]): void {
    this.scripts.set(route, [...(this.scripts.get(route) ?? []), ...replies]);
  }

  /** Every token issued so far stops working (as if expired early or revoked). */
  revokeTokens(): void {
    this.validTokens.clear();
  }

  /** Root messages of a channel, oldest first. */
  messages(teamId: string, channelId: string): FakeMessage[] {
    return [...(this.teams.get(teamId)?.channels.get(channelId)?.messages.values() ?? [])];
  }

  at(route: TeamsRoute): TeamsRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  reset(): void {
    this.requests.length = 0;
    this.scripts.clear();
  }

  private reply(req: TeamsRequest): FakeReply {
    switch (req.route) {
      case 'workflow':
        return this.invokeWorkflow(req);
      case 'token':
        return this.issueToken(req);
      case 'unknown':
        return graphError(400, 'BadRequest', `Resource not found for the segment '${req.path}'.`);
      default:
        return this.graph(req);
    }
  }

  private invokeWorkflow(req: TeamsRequest): FakeReply {
    if (req.method !== 'POST') return json(405, { error: { code: 'MethodNotAllowed', message: 'Only POST is allowed.' } });
    if (!req.query.get('api-version')) {
      return json(400, { error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." } });
    }
    const id = req.path.split('/')[2];
    const flow = this.workflows.get(id);
    if (!flow) return teamsErrors.flowNotFound();
    const sig = req.query.get('sig');
    if (!sig) return json(401, { error: { code: 'DirectApiAuthorizationRequired', message: 'The request must be authenticated.' } });
    if (sig !== flow.sig) {
      return json(401, { error: { code: 'DirectApiInvalidAuthorizationSignature', message: 'The provided authorization signature is not valid.' } });
    }
    if (!flow.enabled) return teamsErrors.flowDisabled();
    // the flow accepts anything and runs later; a body without attachments makes the run fail, not the call
    return { status: 202, headers: { 'content-length': '0' } };
  }

  private issueToken(req: TeamsRequest): FakeReply {
    const tenant = decodeURIComponent(req.path.split('/')[1] ?? '');
    const form = new URLSearchParams(req.body);
    const oauth = (status: number, error: string, code: number, description: string) =>
      json(status, {
        error,
        error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: [code],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    if (tenant !== this.tenantId) return oauth(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') return oauth(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== this.clientId) {
      return oauth(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    }
    if (!form.get('client_secret')) return oauth(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    if (form.get('client_secret') !== this.clientSecret) {
      return oauth(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.clientId}'.`);
    }
    if (!/\/\.default$/.test(form.get('scope') ?? '')) return oauth(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
    const token = `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
    this.issuedTokens.push(token);
    this.validTokens.add(token);
    return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
  }

  private graph(req: TeamsRequest): FakeReply {
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    if (!this.validTokens.has(token)) return graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
    const segs = req.path.split('/').slice(2).map(decodeURIComponent); // after /v1.0
    if (req.route === 'teams') return this.listTeams(req);
    const team = this.teams.get(segs[1]);
    if (!team) return graphError(404, 'NotFound', `No team found with Group Id ${segs[1]}`);
    if (req.route === 'channels') {
      return json(200, { '@odata.count': team.channels.size, value: [...team.channels.values()].map(({ messages, ...c }) => c) });
    }
    const channel = team.channels.get(segs[3]);
    if (!channel) return graphError(404, 'NotFound', 'Channel not found');
    if (req.route === 'message') return this.post(req, team, channel, channel.messages);
    const parent = channel.messages.get(segs[5]);
    if (!parent) return graphError(404, 'NotFound', `Message ${segs[5]} not found`);
    return this.post(req, team, channel, undefined, parent);
  }

  private listTeams(req: TeamsRequest): FakeReply {
    const all = [...this.teams.values()].map((t) => ({ id: t.id, displayName: t.displayName }));
    const skip = Number(req.query.get('$skiptoken') ?? 0);
    const page = all.slice(skip, skip + this.pageSize);
    const next = skip + this.pageSize < all.length ? `${this.url}/v1.0/teams?$skiptoken=${skip + this.pageSize}` : undefined;
    return json(200, { value: page, ...(next ? { '@odata.nextLink': next } : {}) });
  }

  private post(req: TeamsRequest, team: FakeTeam, channel: FakeChannel, into?: Map<string, FakeMessage>, parent?: FakeMessage): FakeReply {
    if (Buffer.byteLength(req.body) > MESSAGE_LIMIT_BYTES) return graphError(413, 'RequestEntityTooLarge', 'Request Entity too large');
    let body: any;
    try {
      body = JSON.parse(req.body);
    } catch {
      return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
    }
    const content = body?.body?.content;
    if (typeof content !== 'string' || !content) return graphError(400, 'BadRequest', 'Message body cannot be empty.');
    const attachments = Array.isArray(body.attachments) ? body.attachments : [];
    let card: any;
    for (const a of attachments) {
      if (!content.includes(`<attachment id="${a.id}"></attachment>`)) {
        return graphError(400, 'BadRequest', `Attachment with id '${a.id}' is not referenced in the message body.`);
      }
      if (typeof a.content !== 'string') return graphError(400, 'BadRequest', 'Attachment content must be a string.');
      try {
        card ??= JSON.parse(a.content);
      } catch {
        return graphError(400, 'BadRequest', 'Invalid adaptive card content.');
      }
    }
    const message: FakeMessage = {
      id: String(this.nextMessageId++),
      body: body.body,
      attachments,
      card,
      replies: [],
      createdDateTime: new Date().toISOString(),
    };
    if (parent) parent.replies.push(message);
    else into!.set(message.id, message);
    return json(201, {
      '@odata.context': `${this.url}/v1.0/$metadata#teams('${team.id}')/channels('${channel.id}')/messages/$entity`,
      id: message.id,
      replyToId: parent?.id ?? null,
      etag: message.id,
      messageType: 'message',
      createdDateTime: message.createdDateTime,
      importance: 'normal',
      body: message.body,
      attachments,
      channelIdentity: { teamId: team.id, channelId: channel.id },
      webUrl: `https://teams.microsoft.com/l/message/${encodeURIComponent(channel.id)}/${message.id}`,
    });
  }
}

function routeOf(req: Pick<TeamsRequest, 'method' | 'path'>): TeamsRoute {
  const p = req.path;
  if (/^\/workflows\/[^/]+\/triggers\/manual\/paths\/invoke$/.test(p)) return 'workflow';
  if (req.method === 'POST' && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(p)) return 'token';
  if (req.method === 'GET' && p === '/v1.0/teams') return 'teams';
  if (req.method === 'GET' && /^\/v1\.0\/teams\/[^/]+\/channels$/.test(p)) return 'channels';
  if (req.method === 'POST' && /^\/v1\.0\/teams\/[^/]+\/channels\/[^/]+\/messages$/.test(p)) return 'message';
  if (req.method === 'POST' && /^\/v1\.0\/teams\/[^/]+\/channels\/[^/]+\/messages\/[^/]+\/replies$/.test(p)) return 'reply';
  return 'unknown';
}
