import type http from 'node:http';
import { HttpFake, readRequest, type FakeAnswer, type FakeRequest } from './http-fake';

/**
 * A local PagerDuty Events API v2 (provider-apis.md section 6): `POST /v2/enqueue`. It validates the body
 * like PagerDuty (routing_key of 32 characters and known, event_action, dedup_key required unless trigger,
 * payload.summary/source/severity for a trigger, lengths) and answers 400 `invalid event` with `errors`;
 * it keeps alerts by (routing key, dedup_key) with their status, and can be scripted to answer 429/5xx.
 */

export type PagerdutyRequest = FakeRequest;

export interface PagerdutyAlert {
  routingKey: string;
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary: string;
  severity: string;
  /** Every trigger, acknowledge and resolve the alert received, in order. */
  actions: string[];
}

export interface PagerdutyScript {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];

export class FakePagerduty extends HttpFake<PagerdutyRequest> {
  readonly alerts = new Map<string, PagerdutyAlert>();
  readonly script: PagerdutyScript[] = [];
  /** Integration keys that exist; others answer 400 like a deleted integration. */
  readonly routingKeys = new Set<string>();
  private generated = 0;

  constructor(...routingKeys: string[]) {
    super();
    for (const k of routingKeys) this.routingKeys.add(k);
  }

  alert(routingKey: string, dedupKey: string): PagerdutyAlert | undefined {
    return this.alerts.get(`${routingKey} ${dedupKey}`);
  }

  /** The base to configure as the API base URL. */
  get url(): string {
    return this.origin;
  }

  protected override defaultHeaders(): Record<string, string> {
    return { 'content-type': 'application/json' };
  }

  /** Recorded with the query in `path`, as the API matches it (`/v2/enqueue` exactly). */
  protected override record(req: http.IncomingMessage, body: string): PagerdutyRequest {
    const r = readRequest(req, body);
    return { ...r, path: r.url };
  }

  protected override answer(r: PagerdutyRequest): FakeAnswer {
    const [status, body, headers] = this.reply(r);
    return { status, body: JSON.stringify(body), headers };
  }

  private reply(r: PagerdutyRequest): [number, unknown, Record<string, string>] {
    if (r.path !== '/v2/enqueue') return [404, { status: 'Not Found', message: 'Not Found' }, {}];
    if (r.method !== 'POST') return [405, { status: 'Method Not Allowed', message: 'Method Not Allowed' }, {}];
    const scripted = this.script.shift();
    if (scripted) return [scripted.status, scripted.body ?? { status: 'error', message: `HTTP ${scripted.status}` }, scripted.headers ?? {}];
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return invalid('Content-Type must be application/json');
    const b = r.json;
    if (!b || typeof b !== 'object' || Array.isArray(b)) return [400, { status: 'invalid request', message: 'Could not parse the body as JSON', errors: [] }, {}];
    const errors: string[] = [];
    if (typeof b.routing_key !== 'string') errors.push("'routing_key' is missing or blank");
    else if (b.routing_key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (!ACTIONS.includes(b.event_action)) errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
    if (b.dedup_key !== undefined && (typeof b.dedup_key !== 'string' || b.dedup_key.length > 255)) errors.push("'dedup_key' must be a string of at most 255 characters");
    if (b.event_action !== 'trigger' && typeof b.dedup_key !== 'string') errors.push("'dedup_key' is missing or blank");
    if (b.event_action === 'trigger') {
      const p = b.payload;
      if (!p || typeof p !== 'object') errors.push("'payload' is missing or blank");
      else {
        if (typeof p.summary !== 'string' || !p.summary) errors.push("'payload.summary' is missing or blank");
        else if (p.summary.length > 1024) errors.push("'payload.summary' is too long (maximum is 1024 characters)");
        if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing or blank");
        if (!SEVERITIES.includes(p.severity)) errors.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
        if (p.timestamp !== undefined && Number.isNaN(Date.parse(p.timestamp))) errors.push("'payload.timestamp' is not a valid ISO 8601 timestamp");
      }
      if (b.links !== undefined && (!Array.isArray(b.links) || b.links.some((l: any) => typeof l?.href !== 'string'))) errors.push("'links' must be a list of {href, text}");
    }
    if (errors.length) return [400, { status: 'invalid event', message: 'Event object is invalid', errors }, {}];
    if (!this.routingKeys.has(b.routing_key)) {
      return [400, { status: 'invalid event', message: 'Event object is invalid', errors: ["'routing_key' is invalid: no integration with this key"] }, {}];
    }
    const dedupKey: string = b.dedup_key ?? `generated-${++this.generated}`;
    const key = `${b.routing_key} ${dedupKey}`;
    const existing = this.alerts.get(key);
    if (b.event_action === 'trigger') {
      if (existing && existing.status !== 'resolved') {
        Object.assign(existing, { summary: b.payload.summary, severity: b.payload.severity });
        existing.actions.push('trigger');
      } else {
        this.alerts.set(key, { routingKey: b.routing_key, dedupKey, status: 'triggered', summary: b.payload.summary, severity: b.payload.severity, actions: ['trigger'] });
      }
    } else if (existing && existing.status !== 'resolved') {
      // acknowledge/resolve of an unknown or resolved key is accepted and ignored, as PagerDuty does
      existing.status = b.event_action === 'resolve' ? 'resolved' : 'acknowledged';
      existing.actions.push(b.event_action);
    }
    return [202, { status: 'success', message: 'Event processed', dedup_key: dedupKey }, {}];
  }
}

function invalid(message: string): [number, unknown, Record<string, string>] {
  return [400, { status: 'invalid request', message, errors: [] }, {}];
}
