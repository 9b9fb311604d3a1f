// Baseline for the end-to-end scenarios: the delivery workflow's shape with nothing in it.
// The service's deliveryWorkflowV2 runs one activity per successful delivery (deliverAttempt calls the
// provider and writes the log); this runs one activity that does nothing. `activities: 3` is the shape
// of the first workflow (loadDeliveryPlan, attemptDelivery, recordAttempt), to show what the merge buys
// on the bare engine. Bundled on its own by bench/baseline-worker.ts. Imports only @temporalio/workflow
// and workflows/loop (which imports only that).
import { proxyActivities } from '@temporalio/workflow';
import { ATTEMPT_ACTIVITY_OPTIONS, DB_ACTIVITY_OPTIONS } from '../workflows/loop';

/** The baseline's activities: all return at once. `last` marks the workflow's final activity. */
export interface BaselineActivities {
  loadPlan(id: string, last: boolean): Promise<void>;
  attempt(id: string, last: boolean): Promise<void>;
  record(id: string, last: boolean): Promise<void>;
}

// the delivery workflows' own activity options: the provider call once, the database ones retried
const { attempt } = proxyActivities<BaselineActivities>(ATTEMPT_ACTIVITY_OPTIONS);
const { loadPlan, record } = proxyActivities<BaselineActivities>(DB_ACTIVITY_OPTIONS);

/** One no-op activity (the service's shape), or three in sequence (`activities: 3`, the first workflow's shape). */
export async function baselineWorkflow(input: { id: string; activities?: 1 | 3 }): Promise<'success'> {
  if (input.activities === 3) {
    await loadPlan(input.id, false);
    await attempt(input.id, false);
    await record(input.id, true);
  } else {
    await attempt(input.id, true);
  }
  return 'success';
}

/** The floor's activity: one webhook POST to the receiver (the comparison benchmark, bench/scenarios/compare.ts). */
export interface FloorActivities {
  deliver(input: { id: string; url: string }): Promise<void>;
}

// retried by the server on a non-2xx answer, about the hub's schedule in the benchmark (100 ms doubling, at most 5 s)
const { deliver } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 10 },
});

/**
 * The bare floor of a delivery: a workflow whose one activity POSTs the event to the receiver. What the hub's
 * delivery costs on the same engine when nothing is logged, matched, signed or checked.
 */
export async function floorWorkflow(input: { id: string; url: string }): Promise<'success'> {
  await deliver(input);
  return 'success';
}
