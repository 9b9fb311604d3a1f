import { TRUNCATION_MARKER } from '../shared/format';
import type { ParseMode } from './config';

/** Telegram's limit on a message text, in UTF-16 code units after entity parsing. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/** Text for HTML mode: `&`, `<`, `>` and `"` (so it is also safe inside an attribute) as named entities. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Text for MarkdownV2 outside entities: every reserved character (and `\`) gets a backslash. */
export function escapeMarkdownV2(text: string): string {
  return text.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, '\\$&');
}

/** The URL part of a MarkdownV2 link, `[text](url)`: only `)` and `\` are escaped there. */
export function escapeMarkdownV2Url(url: string): string {
  return url.replace(/[)\\]/g, '\\$&');
}

/** Text inside a MarkdownV2 `code` or `pre` entity: only `` ` `` and `\` are escaped there. */
export function escapeMarkdownV2Code(text: string): string {
  return text.replace(/[`\\]/g, '\\$&');
}

/** Escapes plain text for `mode`. */
export function escapeText(text: string, mode: ParseMode): string {
  return mode === 'HTML' ? escapeHtml(text) : escapeMarkdownV2(text);
}

/** The truncation marker, escaped for `mode`. */
function truncationMarker(mode: ParseMode): string {
  return escapeText(TRUNCATION_MARKER, mode);
}

/**
 * Cuts formatted text to at most `max` characters, ending with the truncation marker, so that it still
 * parses: never inside an escape sequence, an HTML tag or entity, or a MarkdownV2 link; entities still open
 * at the cut are closed after the marker. Text already within `max` comes back unchanged.
 */
export function fitMarkup(text: string, mode: ParseMode, max = TELEGRAM_TEXT_LIMIT): string {
  if (text.length <= max) return text;
  const marker = truncationMarker(mode);
  const units = mode === 'HTML' ? htmlUnits(text) : markdownV2Units(text);
  let best = { end: 0, closers: '' };
  let end = 0;
  for (const unit of units) {
    end += unit.text.length;
    if (unit.closers === undefined) continue; // inside a link: no clean place to stop
    if (end + marker.length + unit.closers.length > max) break;
    best = { end, closers: unit.closers };
  }
  return text.slice(0, best.end) + marker + best.closers;
}

/** An indivisible piece of formatted text, and what closes the entities still open after it. */
interface Unit {
  text: string;
  /** Undefined where the text cannot be cut after this unit. */
  closers: string | undefined;
}

const HTML_TOKEN = /<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g;

function* htmlUnits(text: string): Generator<Unit> {
  const open: string[] = [];
  for (const [token] of text.matchAll(HTML_TOKEN)) {
    const tag = /^<(\/?)([A-Za-z][A-Za-z0-9-]*)/.exec(token);
    if (tag && token.length > 1) {
      const name = tag[2].toLowerCase();
      if (tag[1]) {
        const at = open.lastIndexOf(name);
        if (at >= 0) open.splice(at, 1);
      } else if (!token.endsWith('/>')) {
        open.push(name);
      }
    }
    yield { text: token, closers: open.length ? open.map((n) => `</${n}>`).reverse().join('') : '' };
  }
}

// Entity marks and what closes them; `__` (underline) is matched before `_` (italic), as Telegram does.
const MDV2_MARKS = ['```', '||', '__', '`', '*', '_', '~'] as const;

function* markdownV2Units(text: string): Generator<Unit> {
  const open: string[] = [];
  let inLink = 0; // depth of `[...]` link texts being read
  let i = 0;
  const closers = () => (inLink ? undefined : open.length ? [...open].reverse().join('') : '');
  while (i < text.length) {
    const code = open[open.length - 1];
    const inCode = code === '`' || code === '```';
    let token: string;
    if (text[i] === '\\' && i + 1 < text.length) {
      token = text.slice(i, i + 2 + (isHighSurrogate(text.charCodeAt(i + 1)) ? 1 : 0));
    } else if (inCode) {
      token = text.startsWith(code, i) ? code : charAt(text, i);
      if (token === code) open.pop();
    } else if (text[i] === ']' && inLink && text[i + 1] === '(') {
      token = text.slice(i, linkEnd(text, i + 2));
      inLink -= 1;
    } else if (text[i] === '[' || (text[i] === '!' && text[i + 1] === '[')) {
      token = text[i] === '!' ? '![' : '[';
      inLink += 1;
    } else {
      const mark = MDV2_MARKS.find((m) => text.startsWith(m, i));
      if (mark) {
        token = mark;
        if (open[open.length - 1] === mark) open.pop();
        else open.push(mark);
      } else {
        token = charAt(text, i);
      }
    }
    i += token.length;
    yield { text: token, closers: closers() };
  }
}

/** Index after the `)` that ends a link URL starting at `from` (escaped `\)` does not end it). */
function linkEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === ')') return i + 1;
  }
  return text.length;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The character at `i`, a whole surrogate pair when it starts one. */
function charAt(text: string, i: number): string {
  return text.slice(i, i + (isHighSurrogate(text.charCodeAt(i)) ? 2 : 1));
}
