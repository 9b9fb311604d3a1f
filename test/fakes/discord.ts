import { HttpFake, takeScripted, type FakeAnswer, type FakeRequest } from './http-fake';

/**
 * A local Discord webhook API (provider-apis.md section 6): `POST /webhooks/{id}/{token}[?wait=true]` and
 * `PATCH /webhooks/{id}/{token}/messages/{message.id}`, served under `/api` like discord.com. Unknown
 * webhooks answer 404 code 10015, a wrong token 401 code 50027, an unknown message 404 code 10008; bodies are
 * validated like Discord (400 code 50035 "Invalid Form Body", 50006 for an empty message, embed limits);
 * without wait=true the answer is 204. Scripted answers (429 with retry_after, 5xx) come first.
 */

export type DiscordRequest = FakeRequest;

export interface DiscordMessage {
  id: string;
  channel_id: string;
  webhook_id: string;
  content: string;
  embeds: any[];
  edits: number;
}

export interface DiscordScript {
  method?: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Hook {
  id: string;
  token: string;
  channelId: string;
}

export class FakeDiscord extends HttpFake<DiscordRequest> {
  readonly messages = new Map<string, DiscordMessage>();
  readonly script: DiscordScript[] = [];
  readonly hooks = new Map<string, Hook>();
  private next = 1190000000000000000n;

  addWebhook(id: string, token: string, channelId = '42'): void {
    this.hooks.set(id, { id, token, channelId });
  }

  at(method: string): DiscordRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** The base to configure as apiBaseUrl (ends in /api). */
  get url(): string {
    return `${this.origin}/api`;
  }

  protected override defaultHeaders(a: FakeAnswer): Record<string, string> {
    return a.status === 204 ? {} : { 'content-type': 'application/json' };
  }

  protected override answer(r: DiscordRequest): FakeAnswer {
    const [status, payload, headers] = this.reply(r);
    return { status, body: status === 204 ? undefined : payload, headers };
  }

  private reply(r: DiscordRequest): [number, unknown, Record<string, string>] {
    const m = /^\/api\/webhooks\/(\d+)\/([\w-]+)(?:\/messages\/([^/]+))?$/.exec(r.path);
    if (!m) return [404, { message: '404: Not Found', code: 0 }, {}];
    const [, id, token, messageId] = m;
    const hook = this.hooks.get(id);
    if (!hook) return [404, { message: 'Unknown Webhook', code: 10015 }, {}];
    if (hook.token !== token) return [401, { message: 'Invalid Webhook Token', code: 50027 }, {}];
    const s = takeScripted(this.script, (x) => !x.method || x.method === r.method);
    if (s) {
      return [s.status, s.body ?? { message: `HTTP ${s.status}`, code: 0 }, s.headers ?? {}];
    }
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return [400, { message: 'Cannot send an empty message', code: 50006 }, {}];
    if (!r.json || typeof r.json !== 'object' || Array.isArray(r.json)) return [400, { message: 'The request body contains invalid JSON.', code: 50109 }, {}];
    const invalid = validate(r.json);
    if (invalid) return [400, { message: 'Invalid Form Body', code: 50035, errors: invalid }, {}];
    if (r.method === 'POST' && !messageId) {
      if (typeof r.json.content !== 'string' && !(Array.isArray(r.json.embeds) && r.json.embeds.length)) return [400, { message: 'Cannot send an empty message', code: 50006 }, {}];
      const message: DiscordMessage = {
        id: String(++this.next),
        channel_id: r.query.get('thread_id') ?? hook.channelId,
        webhook_id: hook.id,
        content: r.json.content ?? '',
        embeds: r.json.embeds ?? [],
        edits: 0,
      };
      this.messages.set(message.id, message);
      return r.query.get('wait') === 'true' ? [200, view(message), {}] : [204, undefined, {}];
    }
    if (r.method === 'PATCH' && messageId) {
      const message = this.messages.get(messageId);
      if (!message || message.webhook_id !== hook.id) return [404, { message: 'Unknown Message', code: 10008 }, {}];
      if (r.json.content !== undefined) message.content = r.json.content;
      if (r.json.embeds !== undefined) message.embeds = r.json.embeds;
      message.edits += 1;
      return [200, view(message), {}];
    }
    return [405, { message: '405: Method Not Allowed', code: 0 }, {}];
  }
}

/** Discord's "Invalid Form Body" checks for the fields the provider sends; undefined when valid. */
function validate(b: Record<string, any>): Record<string, unknown> | undefined {
  const errors: Record<string, unknown> = {};
  const fail = (path: string, message: string) => (errors[path] = { _errors: [{ code: 'BASE_TYPE_INVALID', message }] });
  if (b.content !== undefined && (typeof b.content !== 'string' || b.content.length > 2000)) fail('content', 'Must be 2000 or fewer in length.');
  if (b.username !== undefined && (typeof b.username !== 'string' || b.username.length < 1 || b.username.length > 80)) fail('username', 'Must be between 1 and 80 in length.');
  if (b.embeds !== undefined) {
    if (!Array.isArray(b.embeds) || b.embeds.length > 10) fail('embeds', 'Must be 10 or fewer in length.');
    else {
      let total = 0;
      b.embeds.forEach((e: any, i: number) => {
        if (typeof e?.title === 'string') total += e.title.length;
        if (typeof e?.description === 'string') total += e.description.length;
        if (e?.title !== undefined && (typeof e.title !== 'string' || e.title.length > 256)) fail(`embeds.${i}.title`, 'Must be 256 or fewer in length.');
        if (e?.description !== undefined && (typeof e.description !== 'string' || e.description.length > 4096)) fail(`embeds.${i}.description`, 'Must be 4096 or fewer in length.');
        if (e?.color !== undefined && (!Number.isInteger(e.color) || e.color < 0 || e.color > 0xffffff)) fail(`embeds.${i}.color`, 'Not a valid color.');
        if (e?.url !== undefined && !/^https?:\/\//.test(String(e.url))) fail(`embeds.${i}.url`, 'Not a well formed URL.');
        if (e?.timestamp !== undefined && Number.isNaN(Date.parse(e.timestamp))) fail(`embeds.${i}.timestamp`, 'Could not parse timestamp.');
        const fields = e?.fields ?? [];
        if (!Array.isArray(fields) || fields.length > 25) fail(`embeds.${i}.fields`, 'Must be 25 or fewer in length.');
        else fields.forEach((f: any, j: number) => {
          if (typeof f?.name !== 'string' || !f.name || f.name.length > 256) fail(`embeds.${i}.fields.${j}.name`, 'Must be between 1 and 256 in length.');
          if (typeof f?.value !== 'string' || !f.value || f.value.length > 1024) fail(`embeds.${i}.fields.${j}.value`, 'Must be between 1 and 1024 in length.');
          total += (f?.name?.length ?? 0) + (f?.value?.length ?? 0);
        });
      });
      if (total > 6000) fail('embeds', 'Embed size exceeds maximum size of 6000');
    }
  }
  return Object.keys(errors).length ? errors : undefined;
}

function view(m: DiscordMessage): Omit<DiscordMessage, 'edits'> {
  const { edits: _edits, ...rest } = m;
  return { ...rest, type: 0, author: { id: m.webhook_id, username: 'Status', bot: true } } as Omit<DiscordMessage, 'edits'>;
}
