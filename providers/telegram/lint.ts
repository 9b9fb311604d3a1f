import type { ParseMode } from './config';

/** Tags Telegram's HTML mode understands; any other tag fails the whole message. */
const HTML_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const HTML_ENTITY = /^&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i;

/**
 * The first reason Telegram would refuse `text` with "can't parse entities", or undefined when it looks
 * well formed. A save-time check of templates: it catches what a person writes by mistake (a bare `.` in
 * MarkdownV2, an unknown or unclosed tag in HTML), not every rule of the parser.
 */
export function markupProblem(text: string, mode: ParseMode): string | undefined {
  return mode === 'HTML' ? htmlProblem(text) : markdownV2Problem(text);
}

function htmlProblem(text: string): string | undefined {
  const open: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '&') {
      if (!HTML_ENTITY.test(text.slice(i, i + 12))) return 'a "&" that is not an entity must be written &amp;';
    } else if (text[i] === '<') {
      const tag = /^<(\/?)([a-z][a-z0-9-]*)\b[^<>]*>/i.exec(text.slice(i));
      if (!tag) return 'a "<" that does not start a tag must be written &lt;';
      const name = tag[2].toLowerCase();
      if (!HTML_TAGS.has(name)) return `<${name}> is not a tag Telegram supports (b, i, u, s, a, code, pre, blockquote, tg-spoiler, ...)`;
      if (!tag[1]) open.push(name);
      else if (open.pop() !== name) return `</${name}> does not close the tag opened last`;
      i += tag[0].length - 1;
    } else if (text[i] === '>') {
      return 'a ">" outside a tag must be written &gt;';
    }
  }
  return open.length ? `<${open[open.length - 1]}> is never closed` : undefined;
}

const MARKS = ['```', '||', '__', '`', '*', '_', '~'];

function markdownV2Problem(text: string): string | undefined {
  const open: string[] = [];
  let link = 0;
  let expandable = false; // inside a `**>` quotation, which ends with `||`
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const code = open[open.length - 1];
    const lineStart = i === 0 || text[i - 1] === '\n';
    if (c === '\\') {
      i += 1;
    } else if (code === '`' || code === '```') {
      if (text.startsWith(code, i)) {
        open.pop();
        i += code.length - 1;
      }
    } else if (c === '[' || (c === '!' && text[i + 1] === '[')) {
      link += 1;
      if (c === '!') i += 1;
    } else if (c === ']' && link > 0) {
      if (text[i + 1] !== '(') return 'a link must be written [text](url)';
      const end = urlEnd(text, i + 2);
      if (end < 0) return 'a link URL is never closed with ")"';
      link -= 1;
      i = end;
    } else if (c === '>' && lineStart) {
      // a quotation line
    } else if (lineStart && text.startsWith('**>', i)) {
      expandable = true;
      i += 2;
    } else if (expandable && text.startsWith('||', i) && !open.includes('||') && /^(\n|$)/.test(text.slice(i + 2, i + 3))) {
      expandable = false;
      i += 1;
    } else {
      const mark = MARKS.find((m) => text.startsWith(m, i));
      if (mark) {
        if (open[open.length - 1] === mark) open.pop();
        else open.push(mark);
        i += mark.length - 1;
      } else if ('_*[]()~`>#+-=|{}.!'.includes(c)) {
        return `"${c}" is reserved in MarkdownV2 and must be written \\${c}`;
      }
    }
  }
  if (link) return 'a "[" is never closed: write \\[ for a bracket';
  return open.length ? `"${open[open.length - 1]}" is opened but never closed` : undefined;
}

function urlEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === ')') return i;
  }
  return -1;
}
