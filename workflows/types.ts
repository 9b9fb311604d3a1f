// Types and messages shared by the delivery workflow, its activities and the API. Pure: no I/O.
import { defineUpdate } from '@temporalio/workflow';

export type AttemptTrigger = 'scheduled' | 'manual';
export type FinalStatus = 'success' | 'failed';

/** Workflow input: ids only, never configs or secrets (DESIGN.md decision 3). */
export interface DeliveryWorkflowInput {
  deliveryId: string;
  /** `manual` when an operator asked for this run (a retry of a closed delivery). */
  trigger?: AttemptTrigger;
  /** Set when an operator asked to send a delivery again that had already succeeded. */
  redelivery?: boolean;
}

/** What the workflow needs to run the loop; loaded once per run. */
export interface DeliveryPlan {
  status: 'pending' | 'retrying' | 'success' | 'failed';
  attemptsSoFar: number;
  /** Delays before retry 1, 2, ... in milliseconds (before jitter); its length + 1 is the attempt budget. */
  scheduleMs: number[];
}

/** The provider's verdict on one attempt, sanitised (it is stored in Temporal's history). */
export interface AttemptResult {
  /** `deferred`: nothing was sent, the delivery waits for another one (the creator of its external record). */
  outcome: 'success' | 'retryable' | 'permanent' | 'deferred';
  startedAtMs: number;
  durationMs: number;
  httpStatus?: number;
  errorCode?: string;
  error?: string;
  externalId?: string;
  retryAfterMs?: number;
  pauseReason?: string;
  /** Output kept with the attempt (a script's console), sanitised and capped. */
  log?: string;
  /** The external record this attempt created or updated (row id in external_records). */
  followUp?: { recordId: string; role: 'creator' | 'follower' };
}

/** One attempt as written to the delivery log, with the status the delivery moves to. */
export interface AttemptRecord extends Omit<AttemptResult, 'outcome'> {
  outcome: 'success' | 'retryable' | 'permanent';
  deliveryId: string;
  attempt: number;
  trigger: AttemptTrigger;
  status: 'retrying' | 'success' | 'failed';
  nextRetryAtMs?: number;
}

/** Wakes a retrying delivery at once (the next attempt is recorded as `manual`). */
export const redeliverUpdate = defineUpdate<{ accepted: boolean }, []>('redeliver');
/** Stops further retries; the delivery ends `failed` with the reason. */
export const cancelUpdate = defineUpdate<{ accepted: boolean }, [reason: string]>('cancel');

/** The workflow id of a delivery: derived from the (emission, subscription) pair it belongs to. */
export function deliveryWorkflowId(emissionId: string, subscriptionId: string): string {
  return `delivery:${emissionId}:${subscriptionId}`;
}
