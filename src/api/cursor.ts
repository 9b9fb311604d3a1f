import { badRequest } from '../http/problem';

/** A keyset position: the (createdAt, id) of the last item of a page. */
export interface Position {
  createdAt: string;
  id: string;
}

/** Opaque cursor for a position. */
export function encodeCursor(p: Position | undefined): string | null {
  return p ? Buffer.from(JSON.stringify([p.createdAt, p.id])).toString('base64url') : null;
}

/** The position of a cursor, or a 400 naming `cursor` when it was not made by us. */
export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (!cursor) return undefined;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt))) return { createdAt, id };
  } catch {
    // fall through
  }
  throw badRequest('The cursor is invalid', [{ path: 'query.cursor', message: 'not a cursor from a previous page' }]);
}
