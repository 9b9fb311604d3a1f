import { severityColor, summarise, truncate } from '../shared/format';
import type { DeliveryContext } from '../types';
import type { DiscordConfig } from './config';

/** Discord's embed limits (provider-apis.md): title 256, description 4096, field value 1024. */
const TITLE_MAX = 256;
const DESCRIPTION_MAX = 4096;
const FIELD_MAX = 1024;

type MessageContext = Pick<DeliveryContext<DiscordConfig>, 'event' | 'test' | 'config'>;

/**
 * The message body: one embed with title (✅ when resolved), description and systems, a colour per
 * severity, event/severity/status fields and the event's time. Mentions are never parsed, so a description
 * cannot ping @everyone.
 */
export function buildDiscordMessage(ctx: MessageContext): Record<string, unknown> {
  const s = summarise(ctx);
  const lines = [s.description, s.systems.length ? `Systems: ${s.systems.join(', ')}` : undefined].filter(Boolean);
  const fields = [
    { name: 'Event', value: s.eventName, inline: true },
    ...(s.severity ? [{ name: 'Severity', value: s.severity, inline: true }] : []),
    ...(s.status ? [{ name: 'Status', value: s.status, inline: true }] : []),
  ].map((f) => ({ ...f, value: truncate(f.value, FIELD_MAX) }));
  return {
    ...(ctx.config.username ? { username: ctx.config.username } : {}),
    ...(ctx.config.avatarUrl ? { avatar_url: ctx.config.avatarUrl } : {}),
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: truncate(`${s.resolves ? '✅ ' : ''}${s.test ? 'Test: ' : ''}${s.title}`, TITLE_MAX),
        description: truncate(lines.join('\n') || s.eventName, DESCRIPTION_MAX),
        ...(s.url ? { url: s.url } : {}),
        color: parseInt(severityColor(s.severity, s.resolves), 16),
        fields,
        timestamp: s.occurredAt,
      },
    ],
  };
}
