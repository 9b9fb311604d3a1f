import { outcomeFromError } from '../http/outcome';
import type { DeliveryContext, DeliveryOutcome, OutboundResponse } from '../types';
import { TemplateError } from '../shared/template';
import { WebexApi } from './api';
import { classifyWebexResponse } from './classify';
import type { WebexConfig, WebexConnection } from './config';
import { formatMessage, renderMessageTemplate } from './message';
import { encodeRecord, MAX_EDITS, parseRecord, type MessageRecord } from './record';

const ok = (res: OutboundResponse) => res.status >= 200 && res.status < 300;

/** A verdict about this request only (the message cannot be edited or replied to), not about the room or token. */
const refusedForThisMessage = (res: OutboundResponse) => [400, 403, 404, 409].includes(res.status);

/** A success that names `record` (the first message, not the reply or edit just made) as its external id. */
function asRecord(outcome: DeliveryOutcome, record: MessageRecord): DeliveryOutcome {
  return outcome.kind === 'success' ? { ...outcome, externalId: encodeRecord(record) } : outcome;
}


/**
 * One attempt. Without a follow-up: `POST /messages` and the message id becomes the record.
 * With one: `edit` mode rewrites the first message (`PUT`, at most 10 times) and falls back to a thread
 * reply once the edits are used up or the edit is refused; `thread` mode replies under it. A reply whose
 * parent is gone posts a fresh message, which replaces the record. Never throws for a bad config.
 */
export async function deliverWebex(ctx: DeliveryContext<WebexConfig, WebexConnection>): Promise<DeliveryOutcome> {
  // config and connection are the schemas' output: parsed once by the attempt activity (providers/input.ts)
  const connection = ctx.connection;
  if (!connection) return { kind: 'permanent', errorCode: 'connection_missing', error: 'A Webex subscription needs a connection' };
  const { roomId, messageTemplate, followUpMode } = ctx.config;
  const secrets = [connection.botToken];

  let markdown: string;
  try {
    markdown = messageTemplate ? renderMessageTemplate(messageTemplate, ctx) : formatMessage(ctx);
  } catch (err) {
    if (err instanceof TemplateError) return { kind: 'permanent', errorCode: 'template_error', error: err.message };
    throw err;
  }

  const api = new WebexApi(ctx.http, connection);
  const classify = (res: OutboundResponse) => classifyWebexResponse(res, roomId, secrets);
  try {
    if (!ctx.followUp) return classify(await api.postMessage(roomId, markdown));

    const record = parseRecord(ctx.followUp.externalId);
    if (followUpMode === 'edit' && record.edits < MAX_EDITS) {
      const edited = await api.editMessage(record.messageId, roomId, markdown);
      if (ok(edited)) return asRecord(classify(edited), { ...record, edits: record.edits + 1 });
      if (!refusedForThisMessage(edited)) return classify(edited);
      // Edit limit reached, not our message, or gone: say it in the thread instead, and stop trying to edit.
      return await reply(api, roomId, markdown, { ...record, edits: MAX_EDITS }, classify);
    }
    return await reply(api, roomId, markdown, record, classify);
  } catch (err) {
    return outcomeFromError(err, secrets);
  }
}

/** A thread reply under the record's message; when that message is gone, a fresh message that replaces it. */
async function reply(
  api: WebexApi,
  roomId: string,
  markdown: string,
  record: MessageRecord,
  classify: (res: OutboundResponse) => DeliveryOutcome,
): Promise<DeliveryOutcome> {
  const replied = await api.postMessage(roomId, markdown, record.messageId);
  if (ok(replied)) return asRecord(classify(replied), record);
  if (replied.status !== 400 && replied.status !== 404) return classify(replied);
  // The parent was deleted (or cannot take replies). A fresh message becomes the record; if the room
  // itself is gone, this answer says so and pauses the subscription.
  return classify(await api.postMessage(roomId, markdown));
}
