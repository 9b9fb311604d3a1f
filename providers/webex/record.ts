/** Webex accepts at most this many edits of one message; later follow-ups go to its thread. */
export const MAX_EDITS = 10;

/**
 * The external record of a subject at a room: the first message (thread root, edit target) and the edits
 * it has used. Kept in the externalId as `<messageId>` or `<messageId>#edits=<n>` (message ids are base64,
 * so they never contain `#`).
 */
export interface MessageRecord {
  messageId: string;
  edits: number;
}

/** The externalId that stands for `record`: the plain message id until it has been edited. */
export function encodeRecord(record: MessageRecord): string {
  return record.edits > 0 ? `${record.messageId}#edits=${Math.min(record.edits, MAX_EDITS)}` : record.messageId;
}

/** Reads an externalId written by encodeRecord; anything else is taken as a bare message id. */
export function parseRecord(externalId: string): MessageRecord {
  const match = /^(.+)#edits=(\d+)$/.exec(externalId);
  return match ? { messageId: match[1], edits: Math.min(Number(match[2]), MAX_EDITS) } : { messageId: externalId, edits: 0 };
}
