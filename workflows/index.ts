// The workflow bundle's entry: every workflow the worker runs.
// new deliveries start V3; runs started as V2 replay and finish on the same code, through their patches
export { deliveryWorkflowV3, deliveryWorkflowV2 } from './delivery';
// runs started before V2 existed still replay and finish on this code
export { deliveryWorkflow } from './delivery-v1';
// bulk recovery (POST /deliveries/recover) in the background
export { recoverDeliveriesWorkflow } from './recovery';
// replay of missed events (POST /subscriptions/{id}/replay) in the background
export { replayMissedWorkflow } from './replay';
// the daily retention purge (a Temporal schedule starts it)
export { retentionWorkflow } from './retention';
