import type { DeliveryContext, DeliveryOutcome } from '../types';
import { SlackApi } from './api';
import { followUpModeOf, type SlackConfig, type SlackConnection } from './config';
import { buildMessage, type SlackMessage } from './message';

/** Where a posted message lives: `ts` is only unique within its channel. */
export interface MessageRef {
  channel: string;
  ts: string;
}

/** The external id of a message: `<channel>:<ts>`, e.g. `C0123ABCD:1700000000.000100`. */
function formatExternalId(ref: MessageRef): string {
  return `${ref.channel}:${ref.ts}`;
}

/** The message an external id names; undefined for anything else. */
function parseExternalId(externalId: string): MessageRef | undefined {
  const m = /^([A-Z0-9]{2,32}):(\d{1,12}\.\d{1,9})$/.exec(externalId);
  return m ? { channel: m[1], ts: m[2] } : undefined;
}

// the "View details" link would otherwise unfurl a preview card under every message
const NO_UNFURL = { unfurl_links: false, unfurl_media: false };

type BotContext = DeliveryContext<SlackConfig, SlackConnection>;

/**
 * One delivery through the bot: a new message in `config.channel`, or, for a follow-up, an edit of the
 * first message (`update`) or a reply in its thread (`thread`).
 */
export async function deliverViaBot(ctx: BotContext, config: SlackConfig & { channel: string }, connection: SlackConnection): Promise<DeliveryOutcome> {
  const api = new SlackApi(ctx.http, connection);
  const original = ctx.followUp ? parseExternalId(ctx.followUp.externalId) : undefined;
  if (!original) return post(api, config.channel, buildMessage(ctx, config, 'post'));
  return followUpModeOf(config) === 'thread' ? replyInThread(api, ctx, config, original) : updateOriginal(api, ctx, config, original);
}

/** chat.postMessage; success carries the new message's external id. */
async function post(api: SlackApi, channel: string, message: SlackMessage, thread?: { ts: string; broadcast: boolean }): Promise<DeliveryOutcome> {
  const body = { channel, ...message, ...NO_UNFURL, ...(thread ? { thread_ts: thread.ts, reply_broadcast: thread.broadcast } : {}) };
  const r = await api.post('chat.postMessage', body, channel);
  if (!r.ok) return r.failure;
  const ts = r.body.ts;
  const postedIn = typeof r.body.channel === 'string' ? r.body.channel : channel;
  return { kind: 'success', httpStatus: r.res.status, ...(typeof ts === 'string' ? { externalId: formatExternalId({ channel: postedIn, ts }) } : {}) };
}

/**
 * chat.update of the original to the subject's latest state. A deleted original is replaced by a new
 * message (its id becomes the record); one the bot may no longer edit gets a thread reply instead.
 */
async function updateOriginal(api: SlackApi, ctx: BotContext, config: SlackConfig, original: MessageRef): Promise<DeliveryOutcome> {
  const r = await api.post('chat.update', { channel: original.channel, ts: original.ts, ...buildMessage(ctx, config, 'update') }, original.channel);
  if (r.ok) return { kind: 'success', httpStatus: r.res.status, externalId: formatExternalId(original) };
  switch (r.failure.errorCode) {
    case 'message_not_found':
      return post(api, original.channel, buildMessage(ctx, config, 'post'));
    case 'cant_update_message': // posted by another app or token
    case 'edit_window_closed': // a workspace limit on editing old messages
      return replyInThread(api, ctx, config, original);
    default:
      return r.failure;
  }
}

/**
 * A reply in the original's thread; a resolving event is also sent to the channel and turns the original
 * into its resolved look (best effort: the reply, already posted, is what counts).
 */
async function replyInThread(api: SlackApi, ctx: BotContext, config: SlackConfig, original: MessageRef): Promise<DeliveryOutcome> {
  const replied = await post(api, original.channel, buildMessage(ctx, config, 'reply'), { ts: original.ts, broadcast: ctx.event.resolves });
  if (replied.kind !== 'success') return replied;
  if (ctx.event.resolves) {
    await api.post('chat.update', { channel: original.channel, ts: original.ts, ...buildMessage(ctx, config, 'update') }, original.channel);
  }
  // the record stays the original: later replies belong in the same thread
  return { ...replied, externalId: formatExternalId(original) };
}
