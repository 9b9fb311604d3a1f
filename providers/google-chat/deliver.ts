import { createHash } from 'node:crypto';
import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome } from '../types';
import { TemplateError } from '../shared/template';
import { buildChatMessage } from './card';
import { classifyChatResponse } from './classify';
import { parseWebhookUrl, webhookSecrets, type GoogleChatConfig } from './config';

/** Reply in the named thread, or start it when it does not exist yet (or cannot be found). */
const REPLY_OPTION = 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD';

/**
 * The thread key of a subject: `<owner>:<subject>` (e.g. `incident:inc-42`) when that is short and plain,
 * else `<owner>:sha256:<hex>`. Every event about the subject posts with it, so they share one thread.
 */
export function threadKeyFor(eventType: string, subject: string): string {
  const owner = eventType.split('.')[0];
  const plain = `${owner}:${subject}`;
  if (/^[A-Za-z0-9._:-]{1,200}$/.test(plain)) return plain;
  return `${owner}:sha256:${createHash('sha256').update(subject, 'utf8').digest('hex')}`;
}

/**
 * The webhook URL for one post: the thread key as the `threadKey` query parameter (as the webhook guide
 * shows) with `messageReplyOption`; the body carries the same key in `thread.threadKey`, the current form.
 */
export function postUrl(webhookUrl: string, threadKey: string | undefined): string {
  const parsed = parseWebhookUrl(webhookUrl);
  if (!parsed || !threadKey) return webhookUrl;
  const url = new URL(parsed.url.href);
  url.searchParams.set('threadKey', threadKey);
  url.searchParams.set('messageReplyOption', REPLY_OPTION);
  return url.href;
}

/**
 * One post to the space's incoming webhook. An event with a subject posts under the subject's thread key:
 * the first starts the thread, later ones (follow-ups) reply in it. The first message's name stays the
 * record. Never throws for a bad template or transport failure.
 */
export async function deliverGoogleChat(ctx: DeliveryContext<GoogleChatConfig>): Promise<DeliveryOutcome> {
  const { webhookUrl, template, threadFollowUps } = ctx.config;
  const secrets = webhookSecrets(webhookUrl);
  let message;
  try {
    message = buildChatMessage(ctx, template);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }
  // test sends stand alone; so do events without a subject
  const threadKey = threadFollowUps && ctx.event.subject !== undefined && !ctx.test ? threadKeyFor(ctx.event.type, ctx.event.subject) : undefined;
  const body = { ...message, ...(threadKey ? { thread: { threadKey } } : {}) };
  try {
    const res = await ctx.http.request({
      method: 'POST',
      url: postUrl(webhookUrl, threadKey),
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      body: JSON.stringify(body),
    });
    const outcome = classifyChatResponse(res, secrets);
    if (outcome.kind === 'success' && ctx.followUp) return { ...outcome, externalId: ctx.followUp.externalId };
    return outcome;
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}
