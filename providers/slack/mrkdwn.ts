import { TRUNCATION_MARKER } from '../shared/format';

/** Slack's three control characters in mrkdwn; everything else is left as written. */
const MRKDWN_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes `&`, `<` and `>` as Slack asks, so payload text cannot form links, mentions (<!channel>) or dates. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => MRKDWN_ENTITIES[c]);
}

/**
 * `text` escaped for mrkdwn and cut so the escaped result has at most `max` UTF-16 units, ending with
 * the truncation marker. Cuts before escaping, so no entity (`&amp;`) or surrogate pair is split.
 */
export function fitMrkdwn(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  const budget = Math.max(0, max - TRUNCATION_MARKER.length);
  let out = '';
  for (const ch of text) {
    const piece = MRKDWN_ENTITIES[ch] ?? ch;
    if (out.length + piece.length > budget) break;
    out += piece;
  }
  return out + TRUNCATION_MARKER;
}

/**
 * A mrkdwn link `<url|label>`. The URL's own `<`, `>`, `|` and spaces are percent-encoded and `&` escaped,
 * so it cannot end the link early; the label is escaped like any text.
 */
export function mrkdwnLink(url: string, label: string): string {
  const safeUrl = url
    .replace(/&/g, '&amp;')
    .replace(/[<>| ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `<${safeUrl}|${escapeMrkdwn(label)}>`;
}

/**
 * A date Slack shows in each reader's own time zone (`<!date^…>`), with a UTC fallback for clients that
 * cannot. Undefined for an unparseable timestamp.
 */
export function mrkdwnDate(iso: string): string | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const fallback = new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

/** `<!here>`, `<!channel>`, `<@U…>` or `<!subteam^S…>` for one configured mention. */
export function mentionMrkdwn(mention: string): string {
  if (mention === 'here' || mention === 'channel') return `<!${mention}>`;
  return mention.startsWith('S') ? `<!subteam^${mention}>` : `<@${mention}>`;
}
