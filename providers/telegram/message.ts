import * as Mustache from 'mustache';
import { summarise, truncate, type EventSummary } from '../shared/format';
import type { DeliveryContext } from '../types';
import { TemplateError, buildTemplateView } from '../shared/template';
import type { ParseMode, TelegramConfig } from './config';
import { TELEGRAM_TEXT_LIMIT, escapeHtml, escapeMarkdownV2, escapeMarkdownV2Url, escapeText, fitMarkup } from './markup';

/** Caps on the short fields, so the description keeps most of the room. */
const TITLE_CHARS = 256;
const FIELD_CHARS = 64;
const SYSTEMS_CHARS = 512;
/** A link longer than this (escaped) is left out rather than eating the message. */
const URL_CHARS = 2048;

/** The formatting primitives of one parse mode. */
interface Markup {
  bold(escaped: string): string;
  italic(escaped: string): string;
  link(label: string, url: string): string;
}

const MARKUP: Record<ParseMode, Markup> = {
  HTML: {
    bold: (s) => `<b>${s}</b>`,
    italic: (s) => `<i>${s}</i>`,
    link: (label, url) => `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`,
  },
  MarkdownV2: {
    bold: (s) => `*${s}*`,
    italic: (s) => `_${s}_`,
    link: (label, url) => `[${escapeMarkdownV2(label)}](${escapeMarkdownV2Url(url)})`,
  },
};

/** A mark people can scan for in a busy chat: green when it is over, else by severity. */
function severityEmoji(severity: string | undefined, resolves: boolean): string {
  if (resolves) return '✅';
  switch (severity) {
    case 'critical':
      return '🔴';
    case 'major':
      return '🟠';
    case 'minor':
      return '🟡';
    case 'info':
      return '🔵';
    default:
      return '⚪';
  }
}

/**
 * The standard message: a bold headline (mark, event, title), severity and status, systems, the
 * description, a link back. Fits the Telegram limit by shortening the description first (plain text is
 * cut before escaping, so no escape sequence is ever split).
 */
export function standardMessage(summary: EventSummary, mode: ParseMode): string {
  const build = (description: string | undefined) => renderStandard(summary, mode, description);
  const full = build(summary.description);
  if (full.length <= TELEGRAM_TEXT_LIMIT) return full;
  const description = summary.description ?? '';
  // The longest cut of the description that fits: lengths grow with the cut, so search it.
  let lo = 0;
  let hi = description.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (build(truncate(description, mid)).length <= TELEGRAM_TEXT_LIMIT) lo = mid;
    else hi = mid - 1;
  }
  const best = build(lo > 0 ? truncate(description, lo) : undefined);
  return fitMarkup(best, mode); // only when even the short fields overflow
}

function renderStandard(s: EventSummary, mode: ParseMode, description: string | undefined): string {
  const m = MARKUP[mode];
  const esc = (text: string, max: number) => escapeText(truncate(text, max), mode);
  const headline = s.title === s.eventName ? s.title : `${s.eventName}: ${s.title}`;
  const lines: string[] = [];
  if (s.test) lines.push(m.italic(esc('Test message', FIELD_CHARS)));
  lines.push(`${severityEmoji(s.severity, s.resolves)} ${m.bold(esc(headline, TITLE_CHARS))}`);
  const facts = [
    s.severity && `${m.bold(esc('Severity:', FIELD_CHARS))} ${esc(s.severity, FIELD_CHARS)}`,
    s.status && `${m.bold(esc('Status:', FIELD_CHARS))} ${esc(s.status, FIELD_CHARS)}`,
  ].filter(Boolean);
  if (facts.length) lines.push(facts.join(escapeText(' · ', mode)));
  if (s.systems.length) lines.push(`${m.bold(esc('Systems:', FIELD_CHARS))} ${esc(s.systems.join(', '), SYSTEMS_CHARS)}`);
  if (description) lines.push('', escapeText(description, mode));
  const link = s.url ? m.link('Open in the status page', s.url) : undefined;
  if (link && link.length <= URL_CHARS) lines.push('', link);
  return lines.join('\n');
}

/**
 * The text of one attempt: the subscription's template rendered for its parse mode, or the standard
 * message. Throws TemplateError for a template that fails to render or renders to nothing.
 */
export function messageText(ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription' | 'test'>, config: TelegramConfig): string {
  if (config.template === undefined) return standardMessage(summarise(ctx), config.parseMode);
  const text = renderForParseMode(config.template, buildTemplateView(ctx), config.parseMode);
  if (!text.trim()) throw new TemplateError('the template rendered to an empty message, which Telegram refuses');
  return fitMarkup(text, config.parseMode);
}

/** A writer that escapes `{{{x}}}` too: a payload value must never add markup of its own. */
class EscapingWriter extends Mustache.Writer {
  constructor(private readonly escape: (value: unknown) => string) {
    super();
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : this.escape(value);
  }
}

/** Renders a template whose values are escaped for `mode` (HTML entities or MarkdownV2 backslashes). */
export function renderForParseMode(template: string, view: object, mode: ParseMode): string {
  const escape = (value: unknown) => escapeText(asText(value), mode);
  try {
    return new EscapingWriter(escape).render(template, view, undefined, { escape });
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
    throw new TemplateError(`template could not be rendered: ${reason}`);
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}
