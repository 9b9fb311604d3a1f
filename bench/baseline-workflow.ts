// Baseline for the end-to-end scenarios: the delivery workflow's shape with nothing in it.
// The service's deliveryWorkflow runs three activities per successful delivery (loadDeliveryPlan,
// attemptDelivery, recordAttempt); this runs three activities that do nothing. Bundled on its own
// by bench/baseline-worker.ts. Imports only @temporalio/workflow.
import { proxyActivities } from '@temporalio/workflow';

/** The baseline's activities: all three return at once. */
export interface BaselineActivities {
  loadPlan(id: string): Promise<void>;
  attempt(id: string): Promise<void>;
  record(id: string): Promise<void>;
}

// the same activity options as workflows/delivery.ts: the provider call once, the database ones retried
const { attempt } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { maximumAttempts: 1 },
});
const { loadPlan, record } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * Three no-op activities in sequence, as one successful delivery of the service. `activities: 2` skips
 * loadPlan (what merging the plan load into the attempt would save); the last one is always `record`.
 */
export async function baselineWorkflow(input: { id: string; activities?: 2 | 3 }): Promise<'success'> {
  if (input.activities !== 2) await loadPlan(input.id);
  await attempt(input.id);
  await record(input.id);
  return 'success';
}
