import { WorkflowUpdateRPCTimeoutOrCancelledError, type Connection } from '@temporalio/client';
import { HttpProblem } from '../http/problem';

/** Seconds a client is told to wait (Retry-After) when Temporal did not answer in time. */
const RETRY_AFTER_SECONDS = 5;
/** gRPC status codes of a call that did not get an answer in time, or could not reach the server. */
const DEADLINE_EXCEEDED = 4;
const CANCELLED = 1;
const UNAVAILABLE = 14;

/**
 * Runs `fn` (calls on `connection`'s clients) with a deadline of `timeoutMs` on every gRPC call inside it,
 * and a timer of its own as a backstop. A call that runs out of time becomes a 504 problem, one that finds
 * Temporal unreachable a 503, both with Retry-After, so an API request never hangs on Temporal.
 * `operation` names what was asked in the answer ("the cancel of delivery dlv_...").
 */
export async function withTemporalDeadline<T>(connection: Pick<Connection, 'withDeadline'>, timeoutMs: number, operation: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(operation, timeoutMs)), timeoutMs + BACKSTOP_GRACE_MS);
  });
  try {
    return await Promise.race([connection.withDeadline(Date.now() + timeoutMs, fn), backstop]);
  } catch (err) {
    const code = grpcCode(err);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || code === DEADLINE_EXCEEDED || code === CANCELLED) throw timedOut(operation, timeoutMs);
    if (code === UNAVAILABLE) {
      throw new HttpProblem(503, 'Service Unavailable', `Temporal is unreachable; ${operation} could not be made. Try again shortly.`, undefined, {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The backstop fires this long after the gRPC deadline, which should have ended the call first. */
const BACKSTOP_GRACE_MS = 1_000;

function timedOut(operation: string, timeoutMs: number): HttpProblem {
  return new HttpProblem(
    504,
    'Gateway Timeout',
    `Temporal did not answer within ${timeoutMs} ms; ${operation} may still take effect. Look at the delivery, or try again shortly.`,
    undefined,
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

/** The gRPC status code of an error from the Temporal client, looking through its causes. */
function grpcCode(err: unknown): number | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'number') return e.code;
  }
  return undefined;
}
