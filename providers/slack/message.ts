import * as Mustache from 'mustache';
import { summarise, truncate, type EventSummary } from '../shared/format';
import type { DeliveryContext } from '../types';
import { TemplateError, buildTemplateView } from '../shared/template';
import type { SlackConfig } from './config';
import { escapeMrkdwn, fitMrkdwn, mentionMrkdwn, mrkdwnDate, mrkdwnLink } from './mrkdwn';

/** Slack's limits (docs.slack.dev Block Kit reference and chat.postMessage). */
const SLACK_LIMITS = {
  /** Slack truncates `text` beyond this. */
  textChars: 40_000,
  /** The notification fallback we send beside blocks; Slack recommends under 4,000. */
  fallbackChars: 3_000,
  sectionTextChars: 3_000,
  fields: 10,
  headerChars: 150,
  contextElements: 10,
  blocks: 50,
} as const;

/** A Block Kit block, as JSON. */
export type Block = Record<string, unknown>;

/** What goes into chat.postMessage / chat.update / an incoming webhook, besides channel and ts. */
export interface SlackMessage {
  /** mrkdwn; the notification and screen-reader text when blocks are sent. */
  text: string;
  /** Absent: a text-only message. An empty array clears the blocks of an edited message. */
  blocks?: Block[];
}

/**
 * - `post`: a new message
 * - `update`: the original message rewritten to the subject's latest state (a resolved look when it resolves)
 * - `reply`: a compact thread reply about one change
 * Posts and replies carry the configured mentions; edits never do (an edit notifies nobody).
 */
export type MessageKind = 'post' | 'update' | 'reply';

type MessageContext = Pick<DeliveryContext, 'event' | 'test' | 'deliveryId' | 'subscription'>;

/** Builds the message for one delivery: the configured template, or the default Block Kit layout. */
export function buildMessage(ctx: MessageContext, config: SlackConfig, kind: MessageKind): SlackMessage {
  const mentions = kind !== 'update' && config.mentions?.length ? config.mentions.map(mentionMrkdwn).join(' ') : undefined;
  if (config.template !== undefined) {
    const rendered = renderMrkdwnTemplate(config.template, ctx);
    const text = truncate(mentions ? `${mentions} ${rendered}` : rendered, SLACK_LIMITS.textChars);
    // an edit must drop any blocks an earlier layout left on the message
    return kind === 'update' ? { text, blocks: [] } : { text };
  }
  const summary = summarise(ctx);
  const blocks = kind === 'reply' ? replyBlocks(summary, mentions) : cardBlocks(summary, kind, mentions);
  return { text: fallbackText(summary, mentions), blocks: capBlocks(blocks) };
}

function statusEmoji(s: EventSummary): string {
  if (s.resolves) return ':white_check_mark:';
  switch (s.severity) {
    case 'critical':
      return ':red_circle:';
    case 'major':
      return ':large_orange_circle:';
    case 'minor':
      return ':large_yellow_circle:';
    default:
      return ':large_blue_circle:';
  }
}

/** One line for notifications, e.g. "Incident created: Checkout API down (major, investigating)". */
function fallbackText(s: EventSummary, mentions?: string): string {
  const facts = [s.severity, s.status].filter(Boolean).join(', ');
  const line = `${s.test ? '[Test] ' : ''}${s.eventName}: ${s.title}${facts ? ` (${facts})` : ''}`;
  return (mentions ? `${mentions} ` : '') + fitMrkdwn(line, SLACK_LIMITS.fallbackChars);
}

/** The full card: header, mentions, facts, description, link and time. */
function cardBlocks(s: EventSummary, kind: 'post' | 'update', mentions?: string): Block[] {
  const title = `${statusEmoji(s)} ${s.test ? '[Test] ' : ''}${s.resolves ? 'Resolved: ' : ''}${s.title}`;
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(title, SLACK_LIMITS.headerChars), emoji: true } }];
  if (mentions) blocks.push(section(mentions));
  const fields = [
    field('Event', s.eventName),
    s.severity && field('Severity', s.severity),
    s.status && field('Status', s.status),
    s.systems.length > 0 && field(s.systems.length === 1 ? 'System' : 'Systems', s.systems.join(', ')),
  ].filter((f): f is Block => !!f);
  blocks.push({ type: 'section', fields: fields.slice(0, SLACK_LIMITS.fields) });
  if (s.description) blocks.push(section(fitMrkdwn(s.description, SLACK_LIMITS.sectionTextChars)));
  blocks.push(context(s, kind === 'update' ? 'Updated' : undefined));
  return blocks;
}

/** A thread reply: what changed, the new status, the update text, the link. */
function replyBlocks(s: EventSummary, mentions?: string): Block[] {
  const head = `${mentions ? `${mentions} ` : ''}${statusEmoji(s)} *${escapeMrkdwn(s.eventName)}*${s.status ? ` · Status: *${escapeMrkdwn(s.status)}*` : ''}`;
  const body = s.description ? `\n${fitMrkdwn(s.description, SLACK_LIMITS.sectionTextChars - head.length - 1)}` : '';
  return [section(truncate(head + body, SLACK_LIMITS.sectionTextChars)), context(s)];
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

// Well under the 2,000 a field may hold: Slack also caps the blocks' combined size (msg_blocks_too_long, ~12k).
const FIELD_BUDGET_CHARS = 1_000;
// Longer links are dropped rather than cut (a cut URL leads nowhere).
const MAX_LINK_CHARS = 2_000;

function field(label: string, value: string): Block {
  const head = `*${label}*\n`;
  return { type: 'mrkdwn', text: head + fitMrkdwn(value, FIELD_BUDGET_CHARS - head.length) };
}

/** "<url|View details> · Incident created <date>" (and "Test delivery" on test sends). */
function context(s: EventSummary, verb?: string): Block {
  const parts: string[] = [];
  if (s.url && s.url.length <= MAX_LINK_CHARS) parts.push(mrkdwnLink(s.url, 'View details'));
  const when = mrkdwnDate(s.occurredAt);
  if (when) parts.push(`${verb ?? escapeMrkdwn(s.eventName)} ${when}`);
  if (s.test) parts.push('Test delivery from Integrations Hub');
  const text = parts.length ? parts.join(' · ') : escapeMrkdwn(s.eventName);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionTextChars) }] };
}

/** Never more than Slack's 50 blocks: the last slot says the rest was cut. */
export function capBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= SLACK_LIMITS.blocks) return blocks;
  return [...blocks.slice(0, SLACK_LIMITS.blocks - 1), { type: 'context', elements: [{ type: 'mrkdwn', text: '… (truncated)' }] }];
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}

const escapeValue = (value: unknown): string => escapeMrkdwn(asText(value));

/** A writer whose `{{{x}}}` is escaped too: a payload value can never become a link or an @channel. */
class MrkdwnWriter extends Mustache.Writer {
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value = context.lookup(token[1]);
    return value == null ? '' : escapeValue(value);
  }
}

/**
 * Renders a mrkdwn template over the webhook provider's view ({event, payload, deliveryId, subscription}).
 * The template's own mrkdwn stays; every value is escaped. Throws TemplateError with a value-free message.
 */
export function renderMrkdwnTemplate(template: string, ctx: MessageContext): string {
  try {
    return new MrkdwnWriter().render(template, buildTemplateView(ctx), undefined, { escape: escapeValue });
  } catch (err) {
    throw new TemplateError(`template could not be rendered: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
  }
}
