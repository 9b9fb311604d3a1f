import { z } from 'zod';
import { templateField } from '../shared/template';
import { secretMeta } from '../shared/secret-field';

/** The public Webex API. GovCloud (`https://api-usgov.webex.com/v1`) and tests point elsewhere. */
export const WEBEX_API_BASE = 'https://webexapis.com/v1';

/** Webex's limit for `markdown` (and `text`), in UTF-8 bytes. */
export const WEBEX_MARKDOWN_MAX_BYTES = 7439;

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** True for an absolute http(s) URL without credentials, query or fragment. */
function isApiBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/** Shared credentials of a Webex bot, used by every subscription that picks this connection. */
export const webexConnectionSchema = z.strictObject({
  botToken: z
    .string()
    .min(1)
    .max(4096)
    // it becomes a header value, so a line break would split the request
    .refine((value) => !CONTROL_CHARS.test(value) && !/\s/.test(value), 'must not contain spaces or control characters')
    .meta(secretMeta({ boundTo: ['apiBaseUrl'] }))
    .describe('Bot access token from developer.webex.com (My Webex Apps → the bot)'),
  apiBaseUrl: z
    .string()
    .max(2048)
    .refine(isApiBaseUrl, 'must be an absolute http:// or https:// URL without credentials, query or fragment')
    .default(WEBEX_API_BASE)
    .describe('Webex REST API base URL, e.g. https://api-usgov.webex.com/v1 for Webex for Government'),
});

/** A parsed Webex connection. */
export type WebexConnection = z.output<typeof webexConnectionSchema>;

/** Config of one Webex subscription: the room, the message, and how follow-ups appear. */
export const webexConfigSchema = z.strictObject({
  roomId: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9_=+/-]+$/, 'must be a Webex room id (pick one from the rooms resolver)')
    .meta({ 'x-options-resolver': 'rooms' })
    .describe('The space to post in; the bot must be a member. Choices: GET /connections/{id}/options/rooms'),
  messageTemplate: templateField(16384)
    .optional()
    .describe(
      'Markdown message as a mustache template over {event, payload, deliveryId, subscription}, e.g. ' +
        '"**{{payload.title}}** is {{payload.status}}". {{x}} is escaped for Markdown, {{{x}}} is inserted as is. ' +
        'When absent, a summary with title, severity, systems, description and link is sent.',
    ),
  followUpMode: z
    .enum(['thread', 'edit'])
    .default('thread')
    .describe(
      'Later events about the same subject: "thread" replies under the first message; "edit" rewrites it ' +
        '(Webex allows 10 edits per message, after which replies go to the thread).',
    ),
});

/** A parsed Webex subscription config. */
export type WebexConfig = z.output<typeof webexConfigSchema>;

/** The API base without trailing slashes, so paths can be appended. */
export function apiBase(connection: Pick<WebexConnection, 'apiBaseUrl'> | undefined): string {
  return (connection?.apiBaseUrl ?? WEBEX_API_BASE).replace(/\/+$/, '');
}
