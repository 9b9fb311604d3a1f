import { z } from 'zod';
import { templateField } from '../shared/template';
import { SECRET_META, secretMeta } from '../shared/secret-field';

/** The public Slack Web API; GovSlack uses https://slack-gov.com/api. */
export const DEFAULT_API_BASE_URL = 'https://slack.com/api';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+/i;

const httpUrl = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(HTTP_URL, 'must be an absolute http:// or https:// URL')
    .refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be an absolute http:// or https:// URL');

/** Shared bot credentials: one Slack app installation. */
export const slackConnectionSchema = z.strictObject({
  botToken: z
    .string()
    .trim()
    .max(512)
    // xoxe.xoxb-… is what token rotation hands out; user tokens (xoxp-) post as a person, also allowed
    .regex(/^(xoxe\.)?xox[bp]-[A-Za-z0-9-]+$/, 'must be a Slack bot token (xoxb-…)')
    .meta(secretMeta({ boundTo: ['apiBaseUrl'] }))
    .describe('Bot User OAuth Token (xoxb-…) with the chat:write scope (channels:read, groups:read for the channel list)'),
  apiBaseUrl: httpUrl(512)
    .transform((url) => url.replace(/\/+$/, ''))
    .default(DEFAULT_API_BASE_URL)
    .describe('Web API base URL (default https://slack.com/api; https://slack-gov.com/api for GovSlack)'),
});

/** A parsed, defaulted Slack connection. */
export type SlackConnection = z.output<typeof slackConnectionSchema>;

/** `here` → @here, `channel` → @channel, `U…`/`W…` → a user, `S…` → a user group. */
const MENTION = /^(here|channel|[UW][A-Z0-9]{2,30}|S[A-Z0-9]{2,30})$/;

/**
 * One Slack subscription: either an incoming webhook (`webhookUrl`, no connection, no follow-ups) or a
 * channel the connection's bot posts to (`channel`, follow-ups per `followUpMode`).
 */
export const slackConfigSchema = z
  .strictObject({
    webhookUrl: httpUrl(2048)
      .refine((value) => !CONTROL_CHARS.test(value), 'must not contain control characters')
      .meta(SECRET_META)
      .nullish()
      .describe(
        'Incoming webhook URL (https://hooks.slack.com/services/T…/B…/…); the URL is the secret. Use instead of a ' +
          'connection and channel (null removes a stored one)',
      ),
    channel: z
      .string()
      .trim()
      .regex(/^[CGD][A-Z0-9]{2,30}$/, 'must be a channel id such as C0123ABCD (the channels options list them)')
      .optional()
      .describe('Channel id the bot posts to; needs a connection'),
    followUpMode: z
      .enum(['update', 'thread'])
      .optional()
      .describe('Later events about the same incident/maintenance/system: edit the first message (update, the default) or reply in its thread'),
    mentions: z
      .array(z.string().regex(MENTION, 'must be here, channel, a user id (U…) or a user group id (S…)'))
      .max(20)
      .optional()
      .describe('Who this subscription\'s new messages and thread replies notify (edits of a message notify nobody)'),
    template: templateField(20000)
      .optional()
      .describe(
        'Message text in Slack mrkdwn, a mustache template over {event, payload, deliveryId, subscription}; values are ' +
          'escaped for mrkdwn. Replaces the default Block Kit layout',
      ),
  })
  .superRefine((config, ctx) => {
    const webhook = config.webhookUrl != null;
    if (!webhook && config.channel === undefined) {
      ctx.addIssue({ code: 'custom', path: ['channel'], message: 'give a channel (with a connection) or a webhookUrl' });
    }
    if (webhook && config.channel !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['channel'], message: 'an incoming webhook posts to its own channel: give webhookUrl or channel, not both' });
    }
    if (webhook && config.followUpMode !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['followUpMode'], message: 'incoming webhooks cannot edit or thread their messages; use a bot connection' });
    }
  });

/** A parsed Slack subscription config. */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** The follow-up mode in effect (`update` unless set). */
export function followUpModeOf(config: SlackConfig): 'update' | 'thread' {
  return config.followUpMode ?? 'update';
}
