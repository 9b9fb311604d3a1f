import * as Mustache from 'mustache';
import { summarise, TRUNCATION_MARKER } from '../shared/format';
import type { DeliveryContext } from '../types';
import { TemplateError, buildTemplateView } from '../shared/template';
import { WEBEX_MARKDOWN_MAX_BYTES } from './config';

// CommonMark punctuation that changes meaning inline, plus `<`, which would open a mention (<@all>) or a tag.
const MARKDOWN_SPECIAL = /[\\`*_~[\]<>#|]/g;

/** Escapes text so Webex shows it literally: no emphasis, links, code, headings or mentions. Keeps line breaks. */
export function escapeMarkdown(text: string): string {
  return text.replace(MARKDOWN_SPECIAL, (ch) => `\\${ch}`);
}

/** One line of literal text: escaped, with line breaks and runs of whitespace folded into one space. */
function inline(text: string): string {
  return escapeMarkdown(text.replace(/\s+/g, ' ').trim());
}

/**
 * Markdown from the payload (incident descriptions are Markdown) passed through as written, except that
 * mentions are defused: a description must not be able to notify the whole space (`<@all>`).
 */
function defuseMentions(markdown: string): string {
  return markdown.replace(/<@/g, '\\<@');
}

/** A link target that cannot end the `(...)` early or break out of it. */
function linkTarget(url: string): string {
  return url.replace(/[\s()<>\\]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** UTF-8 length of `text`, in bytes: what Webex counts. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes, ending with the marker; never splits a character.
 * Text that fits is returned unchanged.
 */
export function truncateBytes(text: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  if (byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  let end = Math.max(0, maxBytes - byteLength(marker));
  // step back over continuation bytes (10xxxxxx) to the start of a character
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8') + marker;
}

const SEVERITY_ICONS: Record<string, string> = { critical: '🔴', major: '🟠', minor: '🟡', info: '🔵' };

type MessageContext = Pick<DeliveryContext, 'event' | 'test'>;

/**
 * The default message: a bold title with severity (or "Resolved"), the event, status and systems,
 * the description, and a link back. The description is shortened so the whole fits `maxBytes`.
 */
export function formatMessage(ctx: MessageContext, maxBytes = WEBEX_MARKDOWN_MAX_BYTES): string {
  const s = summarise(ctx);
  const icon = s.resolves ? '✅' : (SEVERITY_ICONS[s.severity ?? ''] ?? '⚪');
  const label = s.resolves ? 'Resolved: ' : s.severity ? `[${s.severity.toUpperCase()}] ` : '';
  const title = `${icon} **${s.test ? 'Test: ' : ''}${inline(label + s.title)}**`;
  const details = [
    s.eventName,
    s.severity && s.resolves ? `Severity: ${s.severity}` : undefined,
    s.status ? `Status: ${s.status}` : undefined,
  ].filter((part): part is string => !!part);
  const head = [title, inline(details.join(' · '))];
  if (s.systems.length) head.push(`Systems: ${inline(s.systems.join(', '))}`);
  const link = s.url ? `[View details](${linkTarget(s.url)})` : undefined;

  const parts = (description?: string) => [head.join('\n'), description, link].filter((p): p is string => !!p).join('\n\n');
  const description = s.description ? defuseMentions(s.description) : undefined;
  const full = parts(description);
  if (byteLength(full) <= maxBytes || !description) return truncateBytes(full, maxBytes);
  // Only the description shrinks, so the title and the link survive a very long text.
  const budget = maxBytes - byteLength(parts('')) - 2; // the two newlines before the description
  const message = budget > byteLength(TRUNCATION_MARKER) ? parts(truncateBytes(description, budget)) : parts();
  return truncateBytes(message, maxBytes);
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

/** A writer whose `{{{x}}}` writes objects as JSON rather than "[object Object]". */
class MarkdownWriter extends Mustache.Writer {
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : asText(value);
  }
}

/**
 * Renders a subscription's messageTemplate over the shared template view (`payload.x`, `event.type`, ...):
 * `{{x}}` escaped for Markdown, `{{{x}}}` as is. The result is cut to `maxBytes`.
 * Throws TemplateError when the template cannot be rendered or renders to nothing.
 */
export function renderMessageTemplate(
  template: string,
  ctx: Pick<DeliveryContext, 'deliveryId' | 'event' | 'subscription'>,
  maxBytes = WEBEX_MARKDOWN_MAX_BYTES,
): string {
  let text: string;
  try {
    const escape = (value: unknown) => escapeMarkdown(asText(value));
    text = new MarkdownWriter().render(template, buildTemplateView(ctx), undefined, { escape });
  } catch (err) {
    throw new TemplateError(`messageTemplate could not be rendered: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
  }
  if (!text.trim()) throw new TemplateError('messageTemplate rendered to an empty message, which Webex refuses');
  return truncateBytes(text, maxBytes);
}
