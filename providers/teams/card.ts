import { severityColor, summarise, truncate, type EventSummary } from '../shared/format';
import type { DeliveryContext } from '../types';
import { buildTemplateView, renderTemplate } from '../shared/template';
import type { TeamsConfig } from './config';

/** Teams refuses messages over about 28 KB ("Request Entity too large"); we stay a little below, in UTF-8 bytes. */
export const MESSAGE_BUDGET_BYTES = 27 * 1024;
export const TITLE_MAX_CHARS = 300;
const FACT_MAX_CHARS = 500;
export const DESCRIPTION_MAX_CHARS = 12_000;

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** What the card is for: a new post, an update in the thread, or the closing "Resolved" card. */
export type CardKind = 'post' | 'update' | 'resolved';

/** An Adaptive Card 1.4, as plain JSON. */
export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard'; version: string; body: unknown[] };

/** The words on a card, after templates: the title and the free text below the facts. */
export interface CardText {
  title: string;
  description?: string;
}

// Adaptive Cards cannot take a hex colour: the shared severity colour picks the container style and emoji.
const STYLE_BY_COLOR: Record<string, { style: string; emoji: string }> = {
  E01E5A: { style: 'attention', emoji: '🔴' },
  ECB22E: { style: 'warning', emoji: '🟠' },
  '36C5F0': { style: 'accent', emoji: '🔵' },
  '2EB67D': { style: 'good', emoji: '✅' },
};
const NEUTRAL = { style: 'emphasis', emoji: '⚪' };

/** The container style and emoji for a severity (resolving events are green). */
function severityLook(severity: string | undefined, resolves: boolean): { style: string; emoji: string } {
  return STYLE_BY_COLOR[severityColor(severity, resolves)] ?? NEUTRAL;
}

/** The kind of card an event gets: resolving events close with "Resolved", follow-ups are updates. */
export function cardKind(resolves: boolean, isFollowUp: boolean): CardKind {
  if (resolves) return 'resolved';
  return isFollowUp ? 'update' : 'post';
}

/**
 * Text from an event as a card shows it: Adaptive Card text is markdown, and a payload's `[x](https://evil)`
 * would render as a link, so `\`, `[` and `]` are escaped (emphasis stays: it cannot point anywhere).
 */
export function escapeCardText(value: string): string {
  return value.replace(/[\\[\]]/g, (c) => `\\${c}`);
}

/** A copy of `value` with every string in it escaped for a card (the values a template writes). */
function escapedView<T>(value: T): T {
  if (typeof value === 'string') return escapeCardText(value) as T;
  if (Array.isArray(value)) return value.map(escapedView) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: escapedView(v), enumerable: true, writable: true, configurable: true });
    return out as T;
  }
  return value;
}

/**
 * Title and text from the subscription's templates, or from the payload's usual fields, escaped for the card
 * (a template's own markdown stays; the values it writes are escaped). Template values are written on one line
 * (control characters become spaces). Throws TemplateError.
 */
export function cardText(ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription' | 'test'>, config: TeamsConfig): CardText {
  const summary = summarise(ctx);
  const view = config.titleTemplate || config.textTemplate ? escapedView(buildTemplateView(ctx)) : undefined;
  const title = config.titleTemplate ? renderTemplate(config.titleTemplate, view!, 'header').replace(/\s+/g, ' ').trim() : '';
  const text = config.textTemplate ? renderTemplate(config.textTemplate, view!, 'header').trim() : undefined;
  const described = summary.description === undefined ? undefined : escapeCardText(summary.description);
  return {
    title: title || escapeCardText(summary.title),
    description: config.textTemplate ? text || undefined : described,
  };
}

function capitalise(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** `2025-03-04T14:07:12.000Z` as `2025-03-04 14:07:12 UTC`; anything unparseable as given. */
function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function heading(kind: CardKind, summary: EventSummary, title: string, emoji: string): { main: string; sub: string } {
  const event = summary.test ? `${summary.eventName} · test delivery` : summary.eventName;
  switch (kind) {
    case 'resolved':
      return { main: `${emoji} Resolved: ${title}`, sub: event };
    case 'update':
      return { main: `${emoji} ${event}`, sub: title };
    default:
      return { main: `${emoji} ${title}`, sub: event };
  }
}

/**
 * The Adaptive Card for one event: a coloured header (emoji and title), a FactSet (Event, Systems,
 * Severity, Status, Time), the description, and "Open in status page" when the payload has a url.
 * Long fields are cut with the shared marker; `description` is used as given (fitCard sizes it).
 */
export function buildCard(summary: EventSummary, kind: CardKind, text: CardText): AdaptiveCard {
  const look = severityLook(summary.severity, summary.resolves);
  // text is escaped by cardText; the event's name and the facts come from the catalogue and payload as they are
  const { main, sub } = heading(kind, { ...summary, eventName: escapeCardText(summary.eventName) }, truncate(text.title, TITLE_MAX_CHARS), look.emoji);
  const fact = (title: string, value: string | undefined) => (value ? [{ title, value: truncate(escapeCardText(value), FACT_MAX_CHARS) }] : []);
  const facts = [
    ...fact('Event', summary.eventName),
    ...fact('Systems', summary.systems.join(', ')),
    ...fact('Severity', summary.severity && capitalise(summary.severity)),
    ...fact('Status', summary.status && capitalise(summary.status)),
    ...fact('Time', formatTime(summary.occurredAt)),
  ];
  const body: unknown[] = [
    {
      type: 'Container',
      style: look.style,
      bleed: true,
      items: [
        { type: 'TextBlock', text: main, weight: 'Bolder', size: 'Large', wrap: true },
        { type: 'TextBlock', text: sub, isSubtle: true, spacing: 'None', wrap: true },
      ],
    },
    { type: 'FactSet', facts },
  ];
  if (text.description) body.push({ type: 'TextBlock', text: text.description, wrap: true });
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    msteams: { width: 'Full' },
    body,
    ...(summary.url ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in status page', url: summary.url }] } : {}),
  };
}

/**
 * The request body `serialise(card)` for the longest description that keeps it within `maxBytes`
 * (UTF-8), cut with the truncation marker; the description is dropped only if nothing else fits.
 */
export function fitCard(
  summary: EventSummary,
  kind: CardKind,
  text: CardText,
  serialise: (card: AdaptiveCard) => string,
  maxBytes = MESSAGE_BUDGET_BYTES,
): string {
  const render = (maxChars: number) =>
    serialise(buildCard(summary, kind, { ...text, description: text.description && maxChars > 0 ? truncate(text.description, maxChars) : undefined }));
  const fits = (body: string) => Buffer.byteLength(body, 'utf8') <= maxBytes;
  const cap = Math.min(text.description?.length ?? 0, DESCRIPTION_MAX_CHARS);
  const whole = render(cap);
  if (cap === 0 || fits(whole)) return whole;
  // characters cost 1 to 12 bytes once escaped (twice, for Graph), so search for the longest cut that fits
  let [low, high] = [0, cap - 1];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(render(mid))) low = mid;
    else high = mid - 1;
  }
  return render(low);
}
