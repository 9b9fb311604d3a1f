import type { ConfigContext, DeliveryContext, DeliveryOutcome, EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { TemplateError, checkTemplatePaths } from '../shared/template';
import { deliverViaBot } from './bot';
import { DEFAULT_API_BASE_URL, slackConfigSchema, slackConnectionSchema, type SlackConfig, type SlackConnection } from './config';
import { listChannels, testSlackConnection } from './connection';
import { deliverViaWebhook } from './incoming-webhook';

export { slackConfigSchema, slackConnectionSchema, type SlackConfig, type SlackConnection } from './config';

/** Save-time check of the template's paths against the event type's payload schema. */
function validateSlackConfig(config: SlackConfig, eventType: EventTypeInfo, context: ConfigContext): FieldProblem[] {
  const problems = config.template === undefined ? [] : checkTemplatePaths(config.template, eventType, 'config.template');
  if (config.webhookUrl == null && !context.hasConnection) {
    problems.push({ path: 'connectionId', message: 'is required to post to a Slack channel (a connection with a bot token); or set config.webhookUrl' });
  }
  return problems;
}

/** The follow-up target: the channel at this API (workspace); webhooks have none, they cannot edit. */
function slackFollowUpTarget(config: SlackConfig, connection?: SlackConnection): string | undefined {
  if (config.webhookUrl != null || config.channel === undefined || !connection) return undefined;
  const base = (connection.apiBaseUrl ?? DEFAULT_API_BASE_URL).replace(/\/+$/, '');
  return `slack:${base}:${config.channel}`;
}

/** One attempt (config and connection arrive parsed): post through the incoming webhook or the bot. */
async function deliverSlack(ctx: DeliveryContext<SlackConfig, SlackConnection>): Promise<DeliveryOutcome> {
  const config = ctx.config;
  try {
    if (config.webhookUrl != null) return await deliverViaWebhook(ctx, config.webhookUrl, config);
    if (!ctx.connection) {
      return { kind: 'permanent', errorCode: 'connection_missing', error: 'Posting to a Slack channel needs a connection with a bot token' };
    }
    return await deliverViaBot({ ...ctx, config }, { ...config, channel: config.channel! }, ctx.connection);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }
}


/** Slack: Block Kit messages through an incoming webhook, or through a bot that edits or threads follow-ups. */
export const slackProvider: ProviderDefinition<SlackConfig, SlackConnection> = {
  id: 'slack',
  /** Incoming-webhook paths (the path is the credential) and Slack token formats. */
  redact: [
    { pattern: /(hooks\.slack(?:-gov)?\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9_/-]+/gi, replacement: '$1***' },
    { pattern: /\b(xox[abposre]|xapp)-[A-Za-z0-9-]+/g, replacement: '$1-***' },
  ],
  displayName: 'Slack',
  description:
    'Posts a Block Kit message per event to a Slack channel. With a bot connection (chat:write) later events about ' +
    'the same incident, maintenance or system edit the first message or reply in its thread; an incoming webhook URL ' +
    'needs no connection but can only post new messages.',
  configSchema: slackConfigSchema,
  connectionSchema: slackConnectionSchema,
  connection: 'optional',
  followUps: true,
  // edits of one message collapse to the newest; replies are a history
  coalesceFollowUps: (config) => config.followUpMode !== 'thread',
  followUpTarget: slackFollowUpTarget,
  validateConfig: validateSlackConfig,
  deliver: deliverSlack,
  testConnection: testSlackConnection,
  options: { channels: listChannels },
};
