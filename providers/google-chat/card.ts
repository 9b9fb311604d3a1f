import * as Mustache from 'mustache';
import { severityColor, summarise, truncate } from '../shared/format';
import type { DeliveryContext } from '../types';
import { TemplateError, buildTemplateView } from '../shared/template';

/** Escapes text for a Chat card's formatted text (a small HTML subset): `&`, `<`, `>` and quotes. */
export function escapeCardText(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Longest description put into a card, in characters (a message may hold 32,000 bytes in all). */
const MAX_DESCRIPTION_CHARS = 4000;
const MAX_TITLE_CHARS = 200;
const MAX_SYSTEMS_CHARS = 1000;

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

/** A writer whose `{{{x}}}` writes objects as JSON rather than "[object Object]". */
class CardWriter extends Mustache.Writer {
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : asText(value);
  }
}

/** Renders the subscription's template: `{{x}}` HTML-escaped, `{{{x}}}` as is. Throws TemplateError. */
function renderCardTemplate(template: string, ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription'>): string {
  let text: string;
  try {
    text = new CardWriter().render(template, buildTemplateView(ctx), undefined, { escape: (v: unknown) => escapeCardText(asText(v)) });
  } catch (err) {
    throw new TemplateError(`template could not be rendered: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
  }
  if (!text.trim()) throw new TemplateError('template rendered to an empty text, which Google Chat refuses');
  return truncate(text, MAX_DESCRIPTION_CHARS);
}

/** A Chat message body (`text` + `cardsV2`), without the thread. */
export interface ChatMessage {
  text: string;
  cardsV2: { cardId: string; card: Record<string, unknown> }[];
}

/**
 * The message for one event: a plain `text` fallback (shown in notifications) and one card with a header
 * (title, event and severity), the status and systems, the description (or the template's text) and a
 * button back to the platform.
 */
export function buildChatMessage(ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription' | 'test'>, template?: string): ChatMessage {
  const s = summarise(ctx);
  const label = s.resolves ? 'Resolved: ' : s.severity ? `[${s.severity.toUpperCase()}] ` : '';
  const title = truncate(`${s.test ? 'Test: ' : ''}${label}${s.title}`, MAX_TITLE_CHARS);
  const widgets: Record<string, unknown>[] = [];
  if (s.status) widgets.push({ decoratedText: { topLabel: 'Status', text: escapeCardText(s.status) } });
  if (s.severity) {
    const color = severityColor(s.severity, s.resolves);
    widgets.push({ decoratedText: { topLabel: 'Severity', text: `<font color="#${color}">${escapeCardText(s.severity)}</font>` } });
  }
  if (s.systems.length) widgets.push({ decoratedText: { topLabel: 'Systems', text: escapeCardText(truncate(s.systems.join(', '), MAX_SYSTEMS_CHARS)), wrapText: true } });
  const body = template ? renderCardTemplate(template, ctx) : s.description ? escapeCardText(truncate(s.description, MAX_DESCRIPTION_CHARS)) : undefined;
  if (body) widgets.push({ textParagraph: { text: body } });
  if (s.url) widgets.push({ buttonList: { buttons: [{ text: 'View details', onClick: { openLink: { url: s.url } } }] } });

  const card: Record<string, unknown> = {
    header: { title, subtitle: `${s.eventName}${s.test ? ' (test)' : ''}` },
    sections: widgets.length ? [{ widgets }] : [{ widgets: [{ textParagraph: { text: escapeCardText(s.eventName) } }] }],
  };
  return { text: title, cardsV2: [{ cardId: `event-${ctx.event.id}`.slice(0, 64), card }] };
}
