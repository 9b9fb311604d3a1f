import type { EventTypeInfo, FieldProblem, ProviderDefinition } from '../types';
import { checkTemplatePaths } from '../shared/template';
import { googleChatConfigSchema, googleChatTarget, type GoogleChatConfig } from './config';
import { deliverGoogleChat } from './deliver';

export { googleChatConfigSchema, type GoogleChatConfig } from './config';

/** Save-time checks beyond the schema: template paths that can never hold a value for this event. */
function validateGoogleChatConfig(config: GoogleChatConfig, eventType: EventTypeInfo): FieldProblem[] {
  return config.template ? checkTemplatePaths(config.template, eventType, 'config.template') : [];
}

/** Google Chat through a space's incoming webhook: a card per event, follow-ups in the subject's thread. */
export const googleChatProvider: ProviderDefinition<GoogleChatConfig> = {
  id: 'google-chat',
  /** An incoming webhook's query (key, token) authorises posting to the space. */
  redact: [{ pattern: /(chat\.googleapis\.com\/v1\/spaces\/[A-Za-z0-9_-]+\/messages)\?[^\s#"'<>]+/gi, replacement: '$1?***' }],
  displayName: 'Google Chat',
  description:
    'Posts a card per event to a Google Chat space through its incoming webhook (title with severity, status, systems, ' +
    'description, link). Later events about the same incident, maintenance or system reply in the first message\'s thread.',
  configSchema: googleChatConfigSchema,
  connection: 'none',
  followUps: true,
  followUpTarget: (config) => googleChatTarget(config),
  validateConfig: validateGoogleChatConfig,
  deliver: deliverGoogleChat,
};
