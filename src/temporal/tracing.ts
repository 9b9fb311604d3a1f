import { Client, type Connection } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { serviceResource, workflowSpanProcessor } from '../telemetry/tracing';

/** The workflow-side interceptors of the OpenTelemetry package: bundled with the workflows (src/temporal/bundle.ts). */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** A Temporal client whose workflow starts carry the active trace context in their headers. */
export function tracedClient(connection: Connection, namespace: string): Client {
  return new Client({ connection, namespace, interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } });
}

/**
 * The worker options that continue a workflow's trace: activity interceptors (the activity runs in the
 * span the workflow passed on), the workflow interceptor module (when bundling at start-up) and the sink
 * that receives the workflows' spans.
 */
export function workerTracing(bundled: boolean): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      // a prebuilt bundle has them already (and the SDK ignores them there)
      ...(bundled ? {} : { workflowModules: [WORKFLOW_TRACING_MODULE] }),
    },
    sinks: { exporter: makeWorkflowExporter(workflowSpanProcessor, serviceResource('integrations-hub-worker')) },
  };
}
