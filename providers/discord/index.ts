import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome, OutboundResponse, ProviderDefinition } from '../types';
import { classifyDiscordResponse, messageCannotBeEdited } from './classify';
import { discordConfigSchema, webhookEndpoint, webhookParts, type DiscordConfig } from './config';
import { buildDiscordMessage } from './message';

export { discordConfigSchema, type DiscordConfig } from './config';

/**
 * One attempt. Without a follow-up: `POST <webhook>?wait=true`, and the message id becomes the record.
 * With one: `PATCH <webhook>/messages/<id>` rewrites that message; when Discord says the message is gone
 * (10008) or can no longer be edited (30046), a fresh message is posted and becomes the record.
 */
async function deliverDiscord(ctx: DeliveryContext<DiscordConfig>): Promise<DeliveryOutcome> {
  const token = webhookParts(ctx.config)?.token;
  const secrets = [ctx.config.webhookUrl, ...(token ? [token] : [])];
  const endpoint = webhookEndpoint(ctx.config);
  const thread = ctx.config.threadId ? `thread_id=${ctx.config.threadId}` : '';
  const body = JSON.stringify(buildDiscordMessage(ctx));
  const send = (method: 'POST' | 'PATCH', url: string): Promise<OutboundResponse> =>
    ctx.http.request({ method, url, headers: { 'content-type': 'application/json' }, body });
  const post = () => send('POST', `${endpoint}?wait=true${thread ? `&${thread}` : ''}`);
  try {
    if (!ctx.followUp) return classifyDiscordResponse(await post(), secrets);
    const messageId = ctx.followUp.externalId;
    const edited = await send('PATCH', `${endpoint}/messages/${encodeURIComponent(messageId)}${thread ? `?${thread}` : ''}`);
    if (edited.status === 404 || edited.status === 400) {
      if (messageCannotBeEdited(edited)) {
        const fresh = classifyDiscordResponse(await post(), secrets);
        return fresh.kind === 'success' ? { ...fresh, log: `message ${messageId} could not be edited; posted a new one` } : fresh;
      }
    }
    const outcome = classifyDiscordResponse(edited, secrets);
    return outcome.kind === 'success' ? { ...outcome, externalId: outcome.externalId ?? messageId } : outcome;
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}

/** The Discord provider: an embed in a channel through its webhook, edited as the subject changes. */
export const discordProvider: ProviderDefinition<DiscordConfig> = {
  id: 'discord',
  /** The token part of a webhook URL (`/api/webhooks/<id>/<token>`). */
  redact: [{ pattern: /(\/api(?:\/v\d+)?\/webhooks\/\d+\/)[A-Za-z0-9_.-]+/gi, replacement: '$1***' }],
  displayName: 'Discord',
  description:
    'Posts an embed to a Discord channel through a channel webhook (title, severity colour, systems, link). ' +
    'Later events about the same incident, maintenance or system edit that message.',
  configSchema: discordConfigSchema,
  followUps: true,
  coalesceFollowUps: true,
  // One record per webhook (and thread): every subscription posting there edits the same message.
  followUpTarget: (config) => {
    const parts = webhookParts(config);
    return parts ? `discord:${parts.id}${config.threadId ? `:${config.threadId}` : ''}` : undefined;
  },
  deliver: deliverDiscord,
};
