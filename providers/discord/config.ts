import { z } from 'zod';
import { apiBaseUrlField, trimBase } from '../shared/api-base';
import { secretMeta } from '../shared/secret-field';

/** A channel webhook URL: `https://discord.com/api[/v10]/webhooks/<id>/<token>`. */
export const WEBHOOK_URL = /^https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/api\/(?:v\d+\/)?webhooks\/(\d+)\/([\w-]+)$/;

/** Config of one Discord subscription. */
export const discordConfigSchema = z.strictObject({
  webhookUrl: z
    .string()
    .max(2048)
    .regex(WEBHOOK_URL, 'must be a Discord webhook URL: https://discord.com/api/webhooks/<id>/<token>')
    // the URL carries the webhook token; it is sent to apiBaseUrl when one is set
    .meta(secretMeta({ boundTo: ['apiBaseUrl'] }))
    .describe('Channel webhook URL (Server settings → Integrations → Webhooks → Copy Webhook URL)'),
  username: z.string().min(1).max(80).optional().describe('Name the messages are posted under, instead of the webhook\'s'),
  avatarUrl: z.url({ protocol: /^https$/ }).max(2048).optional().describe('Avatar image URL for the messages'),
  threadId: z
    .string()
    .regex(/^\d{1,20}$/, 'must be a Discord thread id (digits)')
    .optional()
    .describe('Post into this thread of the webhook\'s channel (forum or text channel thread)'),
  apiBaseUrl: apiBaseUrlField().optional().describe('Replaces https://discord.com/api in the webhook URL (proxies, tests)'),
});

/** A parsed Discord subscription config. */
export type DiscordConfig = z.output<typeof discordConfigSchema>;

/** The webhook id and token of a config's URL. */
export function webhookParts(config: Pick<DiscordConfig, 'webhookUrl'>): { id: string; token: string } | undefined {
  const m = WEBHOOK_URL.exec(config.webhookUrl);
  return m ? { id: m[1], token: m[2] } : undefined;
}

/** `<api>/webhooks/<id>/<token>`: on Discord, or on apiBaseUrl when set. */
export function webhookEndpoint(config: Pick<DiscordConfig, 'webhookUrl' | 'apiBaseUrl'>): string {
  if (!config.apiBaseUrl) return config.webhookUrl;
  const path = new URL(config.webhookUrl).pathname.replace(/^\/api(?:\/v\d+)?/, '');
  return trimBase(config.apiBaseUrl) + path;
}
