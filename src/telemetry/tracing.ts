import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Tracing as installed in this process. */
export interface Tracing {
  /** True when spans are exported (an OTLP endpoint is configured). */
  exporting: boolean;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  /** Flushes, then removes the global tracer, context manager and propagator. */
  shutdown(): Promise<void>;
}

let exported: SpanProcessor | undefined;

/**
 * Installs OpenTelemetry for this process (once): W3C `traceparent` propagation and an async context
 * always, so a trace context given at ingest flows to the outgoing provider request; spans are recorded
 * and exported (OTLP over HTTP, `${otlpEndpoint}/v1/traces`) only when an endpoint is configured.
 * Without one the global tracer stays the no-op one: it creates nothing and passes the caller's context on.
 */
export function installTracing(opts: { serviceName: string; otlpEndpoint?: string }): Tracing {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let provider: NodeTracerProvider | undefined;
  if (opts.otlpEndpoint) {
    const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }), {
      scheduledDelayMillis: 1000,
    });
    provider = new NodeTracerProvider({ resource: serviceResource(opts.serviceName), spanProcessors: [processor] });
    trace.setGlobalTracerProvider(provider);
    exported = processor;
  }
  return {
    exporting: provider !== undefined,
    flush: async () => {
      await provider?.forceFlush();
    },
    shutdown: async () => {
      await provider?.shutdown();
      exported = undefined;
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The resource naming this service in exported spans. */
export function serviceResource(serviceName: string): Resource {
  return new Resource({ 'service.name': serviceName });
}

/**
 * Where the spans made inside workflows go (the worker's sink hands them here): to the exporter of
 * installTracing when one is configured, else nowhere.
 */
export const workflowSpanProcessor: SpanProcessor = {
  onStart: () => undefined,
  onEnd: (span: ReadableSpan) => exported?.onEnd(span),
  forceFlush: async () => {
    await exported?.forceFlush();
  },
  shutdown: async () => undefined,
};
