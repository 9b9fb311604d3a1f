import { ROOT_CONTEXT, SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Runs one API request's handler in a server span whose parent is the caller's `traceparent` (if any),
 * so what the handler starts (delivery workflows) continues the caller's trace. Without an exporter
 * the span is the no-op one and the caller's context passes through unchanged.
 */
export function inRequestSpan<T>(headers: IncomingHttpHeaders, name: string, fn: () => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  // the tracer is looked up per request: one cached at load would keep a tracer provider that was since replaced
  return trace.getTracer('integrations-hub-api').startActiveSpan(name, { kind: SpanKind.SERVER }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
