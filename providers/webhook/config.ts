import { z } from 'zod';
import { isValidWebhookSecret } from './signing';
import { templateField } from '../shared/template';
import { SECRET_META, secretMeta } from '../shared/secret-field';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Header names a subscription may not set: hop-by-hop and framing headers the client owns, and the
 * Standard Webhooks headers, which only we set so a receiver can trust them.
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'expect', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'http2-settings',
  'webhook-id', 'webhook-timestamp', 'webhook-signature',
]);

/** True when `url` is an absolute http(s) URL once its `{{tags}}` are filled in. */
function isHttpUrlTemplate(url: string): boolean {
  try {
    const parsed = new URL(url.replace(/\{\{[^}]*\}\}\}?/g, 'x'));
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

// Secrets become header values, so a line break would split the request.
const secret = () =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters')
    .meta(secretMeta({ boundTo: ['url'] })); // sent to the url's host

const headerName = z.string().min(1).max(256).regex(HEADER_NAME, 'is not a valid HTTP header name');

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: secret() }),
  z.strictObject({
    type: z.literal('basic'),
    username: z.string().min(1).max(256).refine((v) => !v.includes(':') && !CONTROL_CHARS.test(v), 'must not contain ":" or control characters'),
    password: secret(),
  }),
  z.strictObject({ type: z.literal('header'), name: headerName, value: secret() }),
]);

/** Config of one generic webhook subscription. Templates read the view described in template.ts. */
export const webhookConfigSchema = z
  .strictObject({
    url: templateField(2048)
      .regex(/^https?:\/\//i, { message: 'must start with http:// or https://', abort: true })
      .refine(isHttpUrlTemplate, 'must be an absolute http:// or https:// URL')
      .describe('Target URL; {{...}} values are URL-encoded'),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    contentType: z.enum(['json', 'form']).default('json').describe('application/json or application/x-www-form-urlencoded'),
    auth: authSchema.default({ type: 'none' }),
    headers: z
      .record(headerName, templateField(8192))
      .default({})
      .refine((headers) => Object.keys(headers).length <= 50, 'at most 50 headers')
      .describe('Extra request headers; values are templates'),
    bodyTemplate: templateField(65536)
      .optional()
      .describe('Request body; when absent the Standard Webhooks envelope {id, type, timestamp, data, ...} is sent'),
    timeoutMs: z.number().int().min(1000).max(30000).default(10000),
    extraRetryableStatuses: z
      .array(z.number().int().min(400).max(499))
      .max(100)
      .optional()
      .describe('4xx statuses to retry besides 408, 425 and 429'),
    externalIdPath: z
      .string()
      .max(256)
      .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path such as id or data.key')
      .optional()
      .describe('Dot path into the JSON response whose value is recorded as the external id'),
    signing: z
      .strictObject({
        secrets: z
          .array(
            z
              .string()
              .refine(isValidWebhookSecret, 'must be whsec_ followed by the base64 of 24 to 64 random bytes')
              .meta(SECRET_META),
          )
          .min(1)
          .max(5)
          .describe('whsec_ secrets; the last is the newest'),
        overlapUntil: z.iso
          .datetime({ offset: true })
          .optional()
          .describe('During a rotation: until this time every secret signs (old and new); after it only the last one does'),
      })
      .optional()
      .meta({ 'x-widget': 'signing' })
      .describe('Standard Webhooks signing; several secrets during a rotation'),
  })
  .superRefine((config, ctx) => {
    const authHeader = authHeaderName(config.auth);
    if (authHeader && RESERVED_HEADERS.has(authHeader)) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'name'], message: `"${authHeader}" is set by the service and cannot be used` });
    }
    const seen = new Set<string>();
    for (const name of Object.keys(config.headers)) {
      const lower = name.toLowerCase();
      if (seen.has(lower)) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `"${name}" is given twice (header names ignore case)` });
      } else if (RESERVED_HEADERS.has(lower)) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `"${name}" is set by the service and cannot be overridden` });
      } else if (lower === authHeader) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `"${name}" is already set by auth` });
      }
      seen.add(lower);
    }
  });

/** A parsed, defaulted webhook config. */
export type WebhookConfig = z.output<typeof webhookConfigSchema>;
/** The `auth` part of a webhook config. */
export type WebhookAuth = WebhookConfig['auth'];

/** The lower-cased header the auth mode sets, if any. */
export function authHeaderName(auth: WebhookAuth): string | undefined {
  if (auth.type === 'bearer' || auth.type === 'basic') return 'authorization';
  return auth.type === 'header' ? auth.name.toLowerCase() : undefined;
}
