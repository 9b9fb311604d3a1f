// Bundled with the workflows when tracing is not exported (src/temporal/bundle.ts): instead of the OpenTelemetry
// workflow interceptors (about a hundred modules evaluated in every workflow's context, and spans nobody
// receives), the trace header a workflow was started with is handed unchanged to the activities and child
// workflows it schedules. The activity's OpenTelemetry interceptor reads it as before, so the caller's
// `traceparent` still reaches the provider request. Imports only the workflow SDK's types.
import type {
  ActivityInput,
  ContinueAsNewInput,
  LocalActivityInput,
  Next,
  StartChildWorkflowExecutionInput,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header the OpenTelemetry interceptors carry the trace context in (`TRACE_HEADER` of @temporalio/interceptors-opentelemetry). */
const TRACE_HEADER = '_tracer-data';

/** One set per workflow run (the SDK calls this for each), so the header never leaks between runs. */
export const interceptors = (): WorkflowInterceptors => {
  let header: WorkflowExecuteInput['headers'][string] | undefined;
  const withHeader = <T extends { headers: WorkflowExecuteInput['headers'] }>(input: T): T =>
    header === undefined || input.headers[TRACE_HEADER] !== undefined ? input : { ...input, headers: { ...input.headers, [TRACE_HEADER]: header } };
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
      header = input.headers[TRACE_HEADER];
      return next(input);
    },
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) => next(withHeader(input)),
    scheduleLocalActivity: (input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>) => next(withHeader(input)),
    startChildWorkflowExecution: (input: StartChildWorkflowExecutionInput, next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>) =>
      next(withHeader(input)),
    continueAsNew: (input: ContinueAsNewInput, next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>) => next(withHeader(input)),
  };
  return { inbound: [inbound], outbound: [outbound] };
};
