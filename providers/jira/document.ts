import type { RichText } from './client';

/** A run of text in a paragraph, optionally bold or a link; or a line break. */
export type Inline = { text: string; strong?: boolean; href?: string } | { break: true };
/** A paragraph. */
export type Block = Inline[];

/** An Atlassian Document Format node (only what we write: doc, paragraph, text, hardBreak). */
export interface AdfNode {
  type: string;
  version?: number;
  content?: AdfNode[];
  text?: string;
  marks?: Array<{ type: string; attrs?: Record<string, string> }>;
}

// Tabs and newlines carry meaning in text; every other control character is dropped.
const STRAY_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Text safe to place anywhere: CRLF/CR as LF, other control characters removed. */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(STRAY_CONTROLS, '');
}

/** Plain text as paragraphs: blank lines separate paragraphs, single newlines become line breaks. */
export function textBlocks(text: string): Block[] {
  return cleanText(text)
    .split(/\n[ \t]*\n/)
    .map((para) => para.replace(/^\n+|\n+$/g, ''))
    .filter((para) => para.trim() !== '')
    .map((para) => para.split('\n').flatMap((line, i): Inline[] => (i === 0 ? [{ text: line }] : [{ break: true }, { text: line }])));
}

/** The blocks as an ADF document (Jira Cloud, REST v3). Empty text runs are left out, as ADF requires. */
export function toAdf(blocks: Block[]): AdfNode {
  const content = blocks
    .map((block): AdfNode => ({ type: 'paragraph', content: block.flatMap(adfInline) }))
    .filter((para) => para.content!.some((node) => node.type === 'text'));
  return { type: 'doc', version: 1, content };
}

function adfInline(inline: Inline): AdfNode[] {
  if ('break' in inline) return [{ type: 'hardBreak' }];
  const text = cleanText(inline.text).replace(/\n/g, ' ');
  if (!text) return [];
  const marks: NonNullable<AdfNode['marks']> = [];
  if (inline.strong) marks.push({ type: 'strong' });
  if (inline.href) marks.push({ type: 'link', attrs: { href: inline.href } });
  return [marks.length ? { type: 'text', text, marks } : { type: 'text', text }];
}

/** The blocks as Jira wiki markup (Data Center, REST v2), every text run escaped. */
export function toWiki(blocks: Block[]): string {
  return blocks
    .map((block) => block.map(wikiInline).join(''))
    .filter((para) => para.trim() !== '')
    .join('\n\n');
}

function wikiInline(inline: Inline): string {
  if ('break' in inline) return '\n';
  const text = escapeWiki(cleanText(inline.text).replace(/\n/g, ' '));
  if (inline.href) return `[${text.trim() || escapeWiki(inline.href)}|${wikiUrl(inline.href)}]`;
  // *bold* only renders when the markers touch the text: keep the spaces outside
  if (inline.strong && text.trim()) {
    const [, lead, core, trail] = /^(\s*)(.*?)(\s*)$/s.exec(text)!;
    return `${lead}*${core}*${trail}`;
  }
  return text;
}

// Jira wiki markup characters. A backslash escapes one of them; a literal backslash becomes an entity,
// since "\\" is a forced line break and no escape produces a plain backslash before markup.
const WIKI_SPECIAL = /[\\*_?+^~{}[\]!|#-]/g;

/** Text that renders literally in Jira wiki markup: markup characters escaped, backslashes as entities. */
export function escapeWiki(text: string): string {
  return text.replace(WIKI_SPECIAL, (c) => (c === '\\' ? '&#92;' : `\\${c}`));
}

/** A URL safe inside [text|url]: the characters that would end or split the link are percent-encoded. */
function wikiUrl(url: string): string {
  return url.replace(/[|\][\s{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The blocks in the site's rich-text format. */
export function renderBlocks(blocks: Block[], format: RichText): AdfNode | string {
  return format === 'adf' ? toAdf(blocks) : toWiki(blocks);
}

/** The size Jira measures: a wiki string's length, or an ADF document's JSON length (conservatively). */
export function richTextSize(value: AdfNode | string): number {
  return typeof value === 'string' ? value.length : JSON.stringify(value).length;
}
