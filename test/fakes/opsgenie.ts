import crypto from 'node:crypto';
import { HttpFake, takeScripted, type FakeAnswer, type FakeRequest } from './http-fake';

/**
 * A local Opsgenie Alert API (provider-apis.md section 6): `POST /v2/alerts`, `POST /v2/alerts/{id}/close`
 * and `/notes` with `identifierType=alias|id`, and `GET /v2/alerts/requests/{requestId}`. It checks the
 * `GenieKey` header (401), validates bodies (422 with Opsgenie's message for a missing message or a field
 * over its limit), answers 202 `{result, took, requestId}` and applies the request afterwards, as Opsgenie
 * processes alerts asynchronously; it can be scripted to answer 429/5xx.
 */

export type OpsgenieRequest = FakeRequest;

export interface OpsgenieAlert {
  id: string;
  alias: string;
  message: string;
  priority: string;
  status: 'open' | 'closed';
  tags: string[];
  notes: string[];
  description?: string;
}

export interface OpsgenieScript {
  /** Only a request with this method takes the answer (GET: the request-status lookups). */
  method?: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What GET /v2/alerts/requests/{id} reports about a processed request. */
interface RequestStatus {
  success: boolean;
  isSuccess?: boolean;
  action: string;
  status: string;
  alertId?: string;
  alias?: string;
}

export class FakeOpsgenie extends HttpFake<OpsgenieRequest> {
  readonly alerts: OpsgenieAlert[] = [];
  readonly script: OpsgenieScript[] = [];
  readonly keys = new Set<string>();
  readonly processed = new Map<string, RequestStatus>();

  constructor(...keys: string[]) {
    super();
    for (const k of keys) this.keys.add(k);
  }

  byAlias(alias: string): OpsgenieAlert | undefined {
    return this.alerts.find((a) => a.alias === alias && a.status === 'open') ?? this.alerts.filter((a) => a.alias === alias).pop();
  }

  /** The base to configure as the API base URL. */
  get url(): string {
    return this.origin;
  }

  protected override defaultHeaders(): Record<string, string> {
    return { 'content-type': 'application/json' };
  }

  protected override answer(r: OpsgenieRequest): FakeAnswer {
    const requestId = crypto.randomUUID();
    const [status, payload, headers, apply] = this.reply(r);
    // asynchronous processing, after the answer
    if (apply) {
      setImmediate(() => {
        const done = apply();
        this.processed.set(requestId, { ...done, isSuccess: done.success });
      });
    }
    return { status, body: JSON.stringify({ ...(payload as object), took: 0.01, requestId }), headers };
  }

  private reply(r: OpsgenieRequest): [number, unknown, Record<string, string>, (() => RequestStatus)?] {
    const key = /^GenieKey (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1];
    if (!key || !this.keys.has(key)) return [401, { message: 'Could not authenticate' }, {}];
    const scripted = takeScripted(this.script, (s) => !s.method || s.method === r.method);
    if (scripted) return [scripted.status, scripted.body ?? { message: `HTTP ${scripted.status}` }, scripted.headers ?? {}];
    const request = /^\/v2\/alerts\/requests\/([^/]+)$/.exec(r.path);
    if (r.method === 'GET' && request) {
      const found = this.processed.get(request[1]);
      return found ? [200, { data: found }, {}] : [404, { message: 'Request not found. It might not be processed, yet.' }, {}];
    }
    if (r.method !== 'POST') return [404, { message: 'Not found' }, {}];
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return [415, { message: 'Unsupported Media Type' }, {}];
    const b = r.json;
    if (!b || typeof b !== 'object' || Array.isArray(b)) return [400, { message: 'Could not parse the request body' }, {}];
    if (r.path === '/v2/alerts') return this.create(b);
    const action = /^\/v2\/alerts\/([^/]+)\/(close|notes|acknowledge)$/.exec(r.path);
    if (!action) return [404, { message: 'Not found' }, {}];
    const identifierType = r.query.get('identifierType') ?? 'id';
    if (!['id', 'alias', 'tiny'].includes(identifierType)) return [422, { message: `Invalid identifierType [${identifierType}]` }, {}];
    const identifier = decodeURIComponent(action[1]);
    if (action[2] === 'notes' && (typeof b.note !== 'string' || !b.note)) return [422, { message: 'Note should be provided' }, {}];
    for (const f of ['note', 'user', 'source'] as const) {
      const max = f === 'note' ? 25000 : 100;
      if (b[f] !== undefined && (typeof b[f] !== 'string' || b[f].length > max)) return [422, { message: `${f} can not be longer than ${max} characters` }, {}];
    }
    const verb = action[2];
    return [202, { result: 'Request will be processed' }, {}, () => {
      const alert = identifierType === 'alias' ? this.alerts.find((a) => a.alias === identifier && a.status === 'open') : this.alerts.find((a) => a.id === identifier);
      if (!alert) return { success: false, action: verb, status: 'Alert does not exist' };
      if (verb === 'close') alert.status = 'closed';
      if (b.note) alert.notes.push(b.note);
      return { success: true, action: verb, status: verb === 'close' ? 'Closed' : 'Note added', alertId: alert.id, alias: alert.alias };
    }];
  }

  private create(b: Record<string, any>): [number, unknown, Record<string, string>, (() => RequestStatus)?] {
    if (typeof b.message !== 'string' || !b.message.trim()) return [422, { message: 'Message can not be empty.' }, {}];
    if (b.message.length > 130) return [422, { message: 'Message can not be longer than 130 characters.' }, {}];
    if (b.alias !== undefined && (typeof b.alias !== 'string' || b.alias.length > 512)) return [422, { message: 'Alias can not be longer than 512 characters.' }, {}];
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 15000)) return [422, { message: 'Description can not be longer than 15000 characters.' }, {}];
    if (b.priority !== undefined && !['P1', 'P2', 'P3', 'P4', 'P5'].includes(b.priority)) return [422, { message: `Priority should be one of [P1, P2, P3, P4, P5]` }, {}];
    if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.some((t: unknown) => typeof t !== 'string'))) return [422, { message: 'Tags should be a list of strings' }, {}];
    if (b.details !== undefined && (typeof b.details !== 'object' || Object.values(b.details).some((v) => typeof v !== 'string'))) {
      return [422, { message: 'Details should be a map of strings' }, {}];
    }
    return [202, { result: 'Request will be processed' }, {}, () => {
      const open = this.alerts.find((a) => a.alias === b.alias && a.status === 'open');
      // an open alert with the same alias is deduplicated, not created again
      if (open) return { success: true, action: 'Create', status: 'Alert is deduplicated', alertId: open.id, alias: open.alias };
      const alert: OpsgenieAlert = { id: crypto.randomUUID(), alias: b.alias ?? crypto.randomUUID(), message: b.message, priority: b.priority ?? 'P3', status: 'open', tags: b.tags ?? [], notes: [], description: b.description };
      this.alerts.push(alert);
      return { success: true, action: 'Create', status: 'Alert created', alertId: alert.id, alias: alert.alias };
    }];
  }
}
