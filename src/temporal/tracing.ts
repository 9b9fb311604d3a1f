import { Client, type Connection } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { serviceResource, workflowSpanProcessor } from '../telemetry/tracing';

/** The workflow-side interceptors of the OpenTelemetry package: bundled with the workflows (src/temporal/bundle.ts) when traces are exported. */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
/** Their stand-in when nothing is exported: hands the trace header on to the activities (about 100 fewer modules per workflow). */
export const TRACE_HEADER_MODULE = require.resolve('./trace-header-interceptors');

/** The prebuilt bundles in dist/ (src/temporal/bundle.ts): without and with the OpenTelemetry workflow interceptors. */
export const WORKFLOW_BUNDLES = { plain: 'workflow-bundle.js', traced: 'workflow-bundle-traced.js' } as const;

/** A Temporal client whose workflow starts carry the active trace context in their headers. */
export function tracedClient(connection: Connection, namespace: string): Client {
  return new Client({ connection, namespace, interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } });
}

/**
 * The worker options that continue a workflow's trace: activity interceptors (the activity runs in the
 * span the workflow passed on, so `traceparent` reaches the provider request either way), the workflow
 * interceptor module (when bundling at start-up) and, when `traced` (an OTLP endpoint is configured), the sink
 * that receives the workflows' spans. Untraced workers run the plain bundle (workflowSource(false)).
 */
export function workerTracing(bundled: boolean, traced: boolean): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      // a prebuilt bundle has them already (and the SDK ignores them there)
      ...(bundled ? {} : { workflowModules: [traced ? WORKFLOW_TRACING_MODULE : TRACE_HEADER_MODULE] }),
    },
    ...(traced ? { sinks: { exporter: makeWorkflowExporter(workflowSpanProcessor, serviceResource('integrations-hub-worker')) } } : {}),
  };
}
