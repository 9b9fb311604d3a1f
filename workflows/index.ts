// The workflow bundle's entry: every workflow the worker runs.
export { deliveryWorkflow } from './delivery';
