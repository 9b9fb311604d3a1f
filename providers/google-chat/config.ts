import { z } from 'zod';
import { SECRET_META } from '../shared/secret-field';
import { templateField } from '../shared/template';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** `/v1/spaces/<space>/messages`: the path every Chat incoming webhook has. */
const WEBHOOK_PATH = /^\/v1\/spaces\/([A-Za-z0-9_-]{1,128})\/messages$/;

/** The parts of an incoming webhook URL: where it posts, and its space. Undefined for anything else. */
export function parseWebhookUrl(value: string): { url: URL; space: string } | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const match = WEBHOOK_PATH.exec(url.pathname);
  if (!match || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.hash) return undefined;
  if (!url.searchParams.get('key') || !url.searchParams.get('token')) return undefined;
  return { url, space: match[1] };
}

/** Config of one Google Chat subscription: the space's incoming webhook and how the message looks. */
export const googleChatConfigSchema = z.strictObject({
  webhookUrl: z
    .string()
    .trim()
    .max(2048)
    .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters')
    .refine(
      (value) => parseWebhookUrl(value) !== undefined,
      'must be a Google Chat incoming webhook URL: https://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=…',
    )
    .meta(SECRET_META)
    .describe('Incoming webhook URL of the space (Apps & integrations → Webhooks); its key and token are the secret, so the whole URL is stored encrypted'),
  template: templateField(16384)
    .optional()
    .describe(
      'Card text as a mustache template over {event, payload, deliveryId, subscription}; values are HTML-escaped ' +
        '(Chat cards take <b>, <i>, <a href>). Replaces the default card body; the header stays.',
    ),
  threadFollowUps: z
    .boolean()
    .default(true)
    .describe('Post later events about the same incident, maintenance or system as replies in the first message\'s thread'),
});

/** A parsed Google Chat subscription config. */
export type GoogleChatConfig = z.output<typeof googleChatConfigSchema>;

/**
 * The place a thread lives: the webhook's origin and space, never its key or token. Thread keys are per
 * space (and per webhook), so subscriptions posting to the same space share a subject's thread.
 */
export function googleChatTarget(config: Pick<GoogleChatConfig, 'webhookUrl' | 'threadFollowUps'>): string | undefined {
  if (!config.threadFollowUps) return undefined;
  const parsed = parseWebhookUrl(config.webhookUrl);
  return parsed ? `google-chat:${parsed.url.origin}:spaces/${parsed.space}` : undefined;
}

/** The forms the webhook's secret can take in text: the URL, its query, the key and the token. */
export function webhookSecrets(webhookUrl: string): string[] {
  const secrets = [webhookUrl];
  const parsed = parseWebhookUrl(webhookUrl);
  if (parsed) {
    secrets.push(parsed.url.search.slice(1));
    for (const name of ['key', 'token']) {
      const value = parsed.url.searchParams.get(name);
      if (value) secrets.push(value);
    }
  }
  return secrets;
}
