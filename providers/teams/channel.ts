import { createHash } from 'node:crypto';
import { summarise } from '../shared/format';
import type { DeliveryContext, DeliveryOutcome } from '../types';
import { ADAPTIVE_CARD_CONTENT_TYPE, cardKind, fitCard, type AdaptiveCard, type CardKind, type CardText } from './card';
import type { GraphConfig, TeamsConnection } from './config';
import { classifyGraphResponse, graphRequest } from './graph';
import { parseJson } from './token';

/** Where a channel message lives. Encoded as `<teamId>:<channelId>:<messageId>`. */
export interface ChannelMessageRef {
  teamId: string;
  channelId: string;
  messageId: string;
}

/** `<teamId>:<channelId>:<messageId>`; channel ids contain ':' themselves, team and message ids never do. */
export function encodeExternalId(ref: ChannelMessageRef): string {
  return `${ref.teamId}:${ref.channelId}:${ref.messageId}`;
}

/** The reverse of encodeExternalId; undefined for anything else. */
export function decodeExternalId(externalId: string): ChannelMessageRef | undefined {
  const first = externalId.indexOf(':');
  const last = externalId.lastIndexOf(':');
  if (first <= 0 || last <= first + 1 || last === externalId.length - 1) return undefined;
  return { teamId: externalId.slice(0, first), channelId: externalId.slice(first + 1, last), messageId: externalId.slice(last + 1) };
}

/** The attachment id tying the HTML body to the card: stable per delivery, hex only (safe inside HTML). */
export function attachmentIdFor(deliveryId: string): string {
  return createHash('sha256').update(deliveryId).digest('hex').slice(0, 32);
}

/**
 * A Graph chatMessage carrying the card as its one attachment: the HTML body only references the
 * attachment by id, and the card goes as a JSON string in `content`, as Graph requires.
 */
export function graphMessageBody(card: AdaptiveCard, attachmentId: string): string {
  return JSON.stringify({
    body: { contentType: 'html', content: `<attachment id="${attachmentId}"></attachment>` },
    attachments: [
      { id: attachmentId, contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: JSON.stringify(card), name: null, thumbnailUrl: null },
    ],
  });
}

function path(ref: Omit<ChannelMessageRef, 'messageId'> & { messageId?: string }): string {
  const base = `/teams/${encodeURIComponent(ref.teamId)}/channels/${encodeURIComponent(ref.channelId)}/messages`;
  return ref.messageId ? `${base}/${encodeURIComponent(ref.messageId)}/replies` : base;
}

type Sent = { ok: true; messageId?: string; httpStatus: number } | { ok: false; outcome: Exclude<DeliveryOutcome, { kind: 'success' }> };

async function send(
  ctx: DeliveryContext<GraphConfig, TeamsConnection>,
  conn: TeamsConnection,
  target: Omit<ChannelMessageRef, 'messageId'> & { messageId?: string },
  kind: CardKind,
  text: CardText,
): Promise<Sent> {
  const attachmentId = attachmentIdFor(ctx.deliveryId);
  const body = fitCard(summarise(ctx), kind, text, (card) => graphMessageBody(card, attachmentId));
  const result = await graphRequest(ctx.http, conn, { method: 'POST', path: path(target), body });
  if (!result.ok) return result;
  const { res } = result;
  if (res.status < 200 || res.status >= 300) return { ok: false, outcome: classifyGraphResponse(res, [conn.clientSecret]) };
  const id = (parseJson(res.body) as { id?: unknown } | undefined)?.id;
  return { ok: true, httpStatus: res.status, messageId: typeof id === 'string' && id && !id.includes(':') ? id : undefined };
}

/**
 * Graph mode: a new event posts a card in the channel (externalId = team:channel:message); a
 * follow-up replies in that message's thread ("Resolved" card for a resolving event) and keeps the
 * thread's externalId. If the thread's first message was deleted, the card is posted anew and its
 * id becomes the record.
 */
export async function deliverToChannel(ctx: DeliveryContext<GraphConfig, TeamsConnection>, conn: TeamsConnection, text: CardText): Promise<DeliveryOutcome> {
  const channel = { teamId: ctx.config.teamId, channelId: ctx.config.channelId };
  const thread = ctx.followUp ? decodeExternalId(ctx.followUp.externalId) : undefined;
  if (thread) {
    const reply = await send(ctx, conn, thread, cardKind(ctx.event.resolves, true), text);
    if (reply.ok) return { kind: 'success', httpStatus: reply.httpStatus, externalId: ctx.followUp!.externalId };
    if (reply.outcome.httpStatus !== 404) return reply.outcome;
    // the thread's first message is gone: start a new thread rather than lose the update
  }
  const post = await send(ctx, conn, channel, cardKind(ctx.event.resolves, false), text);
  if (!post.ok) return post.outcome;
  return {
    kind: 'success',
    httpStatus: post.httpStatus,
    ...(post.messageId ? { externalId: encodeExternalId({ ...channel, messageId: post.messageId }) } : {}),
  };
}
