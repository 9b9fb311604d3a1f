import type { DeliveryContext, OutboundRequest } from '../types';
import { authHeaderName, type WebhookAuth, type WebhookConfig } from './config';
import { WebhookSigner } from './signing';
import { TemplateError, buildTemplateView, renderJsonTemplate, renderTemplate, type TemplateView } from '../shared/template';

const CONTENT_TYPES = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

/**
 * The default body, after the Standard Webhooks envelope `{type, timestamp, data}`:
 * `id` equals the `webhook-id` header, `timestamp` is when the event happened, `data` is the payload.
 */
function defaultEnvelope(view: TemplateView): Record<string, unknown> {
  return {
    id: view.deliveryId,
    type: view.event.type,
    timestamp: view.event.occurredAt,
    eventId: view.event.id,
    systemIds: view.event.systemIds,
    subscription: view.subscription,
    data: view.payload,
  };
}

/** `value` as form fields with dotted keys (`data.tags.0=x`); null and undefined become empty values. */
function flattenForm(value: unknown, prefix = '', out = new URLSearchParams()): URLSearchParams {
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) out.append(prefix, '');
    for (const [key, child] of entries) flattenForm(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) {
    out.append(prefix, value == null ? '' : String(value));
  }
  return out;
}

function renderBody(config: WebhookConfig, view: TemplateView): string {
  if (config.bodyTemplate === undefined) {
    const envelope = defaultEnvelope(view);
    return config.contentType === 'json' ? JSON.stringify(envelope) : flattenForm(envelope).toString();
  }
  return config.contentType === 'json'
    ? renderJsonTemplate(config.bodyTemplate, view)
    : renderTemplate(config.bodyTemplate, view, 'form');
}

function authHeaderValue(auth: WebhookAuth): string | undefined {
  switch (auth.type) {
    case 'bearer':
      return `Bearer ${auth.token}`;
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
    case 'header':
      return auth.value;
    default:
      return undefined;
  }
}

/**
 * Renders and assembles one attempt's request. `timestampSeconds` is the attempt's time (the signature is
 * fresh per attempt; `webhook-id` stays the delivery id). Throws TemplateError with a value-free message.
 */
export function buildWebhookRequest(
  ctx: Pick<DeliveryContext<WebhookConfig>, 'config' | 'deliveryId' | 'event' | 'subscription'>,
  timestampSeconds: number,
): OutboundRequest {
  const { config } = ctx;
  const view = buildTemplateView(ctx);

  const url = renderTemplate(config.url, view, 'url');
  if (!isHttpUrl(url)) throw new TemplateError('url did not render to an absolute http:// or https:// URL');
  const body = renderBody(config, view);

  // Order matters: custom headers may override content-type, but nothing overrides auth or webhook-*.
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[config.contentType] };
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = renderTemplate(value, view, 'header');
  const authName = authHeaderName(config.auth);
  const authValue = authHeaderValue(config.auth);
  if (authName && authValue !== undefined) headers[authName] = authValue;
  headers['webhook-id'] = ctx.deliveryId;
  headers['webhook-timestamp'] = String(timestampSeconds);
  if (config.signing) {
    headers['webhook-signature'] = new WebhookSigner(signingSecrets(config.signing, timestampSeconds)).sign(ctx.deliveryId, timestampSeconds, body);
  }

  return { method: config.method, url, headers, body, timeoutMs: config.timeoutMs };
}

/**
 * The secrets that sign at `atSeconds`: all of them while a rotation's overlap lasts (or when none is set), the
 * last one (the newest) once `overlapUntil` has passed.
 */
function signingSecrets(signing: NonNullable<WebhookConfig['signing']>, atSeconds: number): string[] {
  const until = signing.overlapUntil ? Date.parse(signing.overlapUntil) : Number.NaN;
  return Number.isFinite(until) && until <= atSeconds * 1000 ? signing.secrets.slice(-1) : [...signing.secrets];
}

function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

const MAX_EXTERNAL_ID_LENGTH = 1024;

/** The string or number at `path` in a JSON response body, as a string; undefined when absent or not JSON. */
export function readExternalId(body: string, path: string): string | undefined {
  let node: unknown;
  try {
    node = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  const id = typeof node === 'string' ? node : typeof node === 'number' && Number.isFinite(node) ? String(node) : undefined;
  return id && id.length <= MAX_EXTERNAL_ID_LENGTH ? id : undefined;
}
