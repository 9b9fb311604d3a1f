// Types and messages shared by the delivery workflow, its activities and the API. Pure: no I/O.
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DeliveryStatus } from '../entities/delivery.entity';

export type AttemptTrigger = 'scheduled' | 'manual';
/** How a delivery workflow ends; `superseded`: a later delivery of its lane carried its newer state. */
export type FinalStatus = 'success' | 'failed' | 'superseded';

/** Workflow input: ids only, never configs or secrets (docs/DESIGN.md decision 3). */
export interface DeliveryWorkflowInput {
  deliveryId: string;
  /** `manual` when an operator asked for this run (a retry of a closed delivery). */
  trigger?: AttemptTrigger;
  /** Set when an operator asked to send a delivery again that had already succeeded. */
  redelivery?: boolean;
  /**
   * A new delivery (ingest, test send, reconciler): no attempt made yet, so the run skips loading its plan.
   * Its workflow id is started with REJECT_DUPLICATE, so a fresh run happens once per delivery.
   */
  fresh?: boolean;
  /**
   * Set by no start any more (docs/DESIGN.md decision 14): a run started with it (with `fresh`) wrote no
   * HubDeliveryStatus upsert when its first shown status was `success`, and closed with `pending` shown. Kept
   * so that such runs replay: ignoring it would add an upsert their histories do not hold (a determinism
   * error; test/fixtures/histories/v2-quiet-success.json).
   */
  quietSuccess?: boolean;
  /**
   * Set when a long-running delivery continued as new (its history grew long): where the previous run left
   * off. The run loads no plan and goes on with the next attempt; every other field keeps its meaning.
   */
  resume?: ResumeState;
}

/** The loop's state carried across continueAsNew, so the attempt numbers and budget stay exact. */
interface ResumeState {
  /** Attempts made so far (the next one is attempt + 1). */
  attempt: number;
  budgetBase: number;
  /** How many waits for infrastructure and deferrals in a row preceded (their backoff goes on). */
  infraFailures: number;
  deferrals: number;
  /** Waits in its lane so far (their re-check backoff goes on); absent before ordered lanes. */
  laneWaits?: number;
}

/** One attempt of deliveryWorkflowV2: the activity calls the provider and writes the attempt to the log. */
export interface AttemptInput {
  deliveryId: string;
  attempt: number;
  trigger: AttemptTrigger;
  redelivery: boolean;
  /** Attempts made before this run's budget began: a manual run of a closed delivery gets a fresh budget. */
  budgetBase: number;
}

/** Where an attempt left the delivery, as stored in the log. */
export interface StoredAttempt {
  status: 'retrying' | 'success' | 'failed';
  /** The wait before the next attempt (when `retrying`). */
  delayMs: number;
}

/** What the attempt activity did. Only the `unrecorded` case leaves the log write to the workflow. */
export type AttemptReport =
  /** Sent (or refused before sending) and written to the log in the same activity. */
  | { kind: 'recorded'; result: AttemptResult; stored: StoredAttempt }
  /** Nothing sent: an earlier delivery of its lane is pending or retrying; wait for its end, not an attempt. */
  | { kind: 'waiting'; forDeliveryId: string }
  /** Sent, but the log could not be written within the activity: the workflow writes `record` (retried without limit). */
  | { kind: 'unrecorded'; result: AttemptResult; record: AttemptRecord }
  /** Nothing sent: the delivery waits for another one to create the external record it updates. */
  | { kind: 'deferred'; result: AttemptResult }
  /** Nothing sent: the target's rate limit is spent or it asked to slow down; the workflow waits `waitMs`, not an attempt. */
  | { kind: 'throttled'; waitMs: number }
  /** Nothing sent: the target's circuit is open; wait `waitMs` (its cool-down), then try again (not an attempt). */
  | { kind: 'held'; waitMs: number }
  /**
   * Nothing sent: the delivery was already closed and this is not an operator's run, or it has just ended
   * `superseded` (a later delivery of its lane carries the newer state).
   */
  | { kind: 'closed'; status: FinalStatus };

/** What the workflow needs to run the loop; loaded once per run. */
export interface DeliveryPlan {
  status: DeliveryStatus;
  attemptsSoFar: number;
  /** Delays before retry 1, 2, ... in milliseconds (before jitter); its length + 1 is the attempt budget. */
  scheduleMs: number[];
}

/** The provider's verdict on one attempt, sanitised (it is stored in Temporal's history). */
export interface AttemptResult {
  /**
   * `deferred`: nothing was sent, the delivery waits for another one (the creator of its external record).
   * `held`: nothing was sent, the target's circuit is open (`retryAfterMs` is the wait).
   */
  outcome: 'success' | 'retryable' | 'permanent' | 'deferred' | 'held';
  /** The target the attempt went to (src/targets/key.ts; never a secret). */
  target?: string;
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
  /**
   * Non-secret subscription config fields the provider learned have changed (`set`), applied with the
   * attempt only while the subscription still holds the values this attempt used (`was`).
   */
  configUpdate?: { set: Record<string, string | number | boolean>; was: Record<string, unknown> };
  /**
   * The HTTP exchanges of the attempt (request sent, response received), masked and cut to size
   * (activities/exchanges.ts). Written to the delivery log by the activity; never returned to a workflow
   * (the activities strip it), so Temporal's history holds no bodies.
   */
  exchanges?: StoredExchange[];
}

/** One HTTP request of an attempt and its answer, as the delivery log keeps them (secrets masked). */
export interface StoredExchange {
  request: { method: string; url: string; headers: Record<string, string>; body?: string; bodyBytes?: number; bodyTruncated?: boolean };
  response?: { status: number; headers: Record<string, string>; body: string; bodyBytes: number; bodyTruncated: boolean };
  /** The transport failure when no answer came (timeout, refused address, reset). */
  error?: string;
  durationMs: number;
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

/** The failure type of an activity that found no delivery row (deleted, purged): waiting will not bring it back. */
export const NOT_FOUND_FAILURE = 'DeliveryNotFound';
/** The failure type with which the update validators refuse a message the delivery can no longer honour. */
export const CLOSING_FAILURE = 'DeliveryClosing';
/**
 * The failure type of an activity that could not reach its own stores (the database, the lane, the circuit):
 * nothing was sent; the delivery workflow waits and tries the same attempt again.
 */
export const INFRASTRUCTURE_FAILURE = 'Infrastructure';
/** The failure type of a delivery log write refused twice (it ends the delivery failed). */
export const LOG_REFUSED_FAILURE = 'DeliveryLogRefused';
/** The failure type of a replay batch whose subscription is no longer active (the replay stops). */
export const SUBSCRIPTION_INACTIVE_FAILURE = 'SubscriptionInactive';
/** The failure types the background workflows end with when they stop early. */
export const REPLAY_FAILED_FAILURE = 'ReplayFailed';
export const RECOVERY_FAILED_FAILURE = 'RecoveryFailed';

/** Wakes a retrying delivery at once (the next attempt is recorded as `manual`). */
export const redeliverUpdate = defineUpdate<{ accepted: boolean }, []>('redeliver');
/** Stops further retries; the delivery ends `failed` with the reason. */
export const cancelUpdate = defineUpdate<{ accepted: boolean }, [reason: string]>('cancel');
/**
 * Tells a delivery waiting in its lane that the delivery ahead of it has ended (it looks at its lane again).
 * Sent by the activity that wrote that end, through the worker's Temporal client.
 */
export const laneTurnSignal = defineSignal('laneTurn');

/** Input of recoverDeliveriesWorkflow: the recovery's id (its selection and progress are in its row). */
export interface RecoveryWorkflowInput {
  recoveryId: string;
}

/** What one batch of a recovery did. */
export interface RecoveryBatch {
  /** Deliveries handled so far (redelivered or failed to), this batch included. */
  handled: number;
  /** True when the selection is exhausted. */
  finished: boolean;
}

/** The workflow id of a bulk recovery. */
export function recoveryWorkflowId(recoveryId: string): string {
  return `recovery:${recoveryId}`;
}

/** Input of replayMissedWorkflow: the replay's row holds its subscription, range and progress. */
export interface ReplayWorkflowInput {
  replayId: string;
}

/** What one batch of a replay did. */
export interface ReplayBatch {
  /** True when the range is exhausted. */
  finished: boolean;
}

/** The id of a replay's workflow. */
export function replayWorkflowId(replayId: string): string {
  return `replay:${replayId}`;
}
