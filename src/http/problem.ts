import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import type { FieldProblem } from '../../providers/types';

/** An error that becomes an RFC 9457 problem+json response. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }
}

export const badRequest = (detail: string, errors?: FieldProblem[]) => new HttpProblem(400, 'Bad Request', detail, errors);
export const notFound = (detail: string) => new HttpProblem(404, 'Not Found', detail);
export const conflict = (detail: string) => new HttpProblem(409, 'Conflict', detail);

/** Writes a problem+json body. */
function sendProblem(res: Response, p: HttpProblem): void {
  for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
  res
    .status(p.status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: p.title,
      status: p.status,
      ...(p.detail ? { detail: p.detail } : {}),
      ...(p.errors ? { errors: p.errors } : {}),
    });
}

/**
 * The last error handler: known problems as they are; body-parser errors as 400/413;
 * anything else as a 500 without stack or message (logged by the caller's logger).
 */
export function problemHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof HttpProblem) return sendProblem(res, err);
    const e = err as { type?: string; status?: number; limit?: number };
    if (e?.type === 'entity.parse.failed') {
      return sendProblem(res, badRequest('The request body is not valid JSON', [{ path: 'body', message: 'malformed JSON' }]));
    }
    if (e?.type === 'entity.too.large') {
      return sendProblem(res, new HttpProblem(413, 'Content Too Large', `The request body is over the limit of ${e.limit} bytes`));
    }
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      return sendProblem(res, new HttpProblem(415, 'Unsupported Media Type', 'Send UTF-8 JSON'));
    }
    if (err instanceof URIError) {
      // the router could not percent-decode a path parameter (`/deliveries/%zz`)
      return sendProblem(res, badRequest('The request path is not validly percent-encoded', [{ path: 'path', message: 'malformed percent-encoding' }]));
    }
    const status = typeof e?.status === 'number' ? e.status : undefined;
    if (status !== undefined && status >= 400 && status < 500 && (err as { expose?: boolean }).expose === true) {
      // an http-errors 4xx from Express or a body parser, e.g. a request aborted mid-body: its message is meant for the client
      return sendProblem(res, new HttpProblem(status, STATUS_CODES[status] ?? 'Bad Request', String((err as Error).message ?? '')));
    }
    if (isDatabaseUnavailable(err)) {
      return sendProblem(res, new HttpProblem(503, 'Service Unavailable', 'The database is unavailable; try again shortly', undefined, { 'Retry-After': '5' }));
    }
    onUnexpected(err);
    sendProblem(res, new HttpProblem(500, 'Internal Server Error', 'Unexpected error; it has been logged'));
  };
}

/** Connection-level failures talking to PostgreSQL: the caller should retry, not see a 500. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  const e = err as { code?: string; message?: string; driverError?: { code?: string }; cause?: unknown };
  const code = e?.driverError?.code ?? e?.code;
  // 53300: too many connections, as when every pool and LISTEN connection reconnects after a restart
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300', '08006', '08001', '08003'].includes(code)) return true;
  const msg = String(e?.message ?? '');
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end/i.test(msg)) return true;
  // TypeORM releases a transaction's query runner when its connection fails (PostgreSQL stopped between two
  // statements of a transaction): the next statement throws this, and nothing of the transaction was committed
  if ((err as Error)?.name === 'QueryRunnerProviderAlreadyReleasedError') return true;
  // an error that wraps the driver's (new Error(..., { cause }))
  return depth < 5 && e?.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}
