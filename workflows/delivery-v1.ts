// The first delivery workflow (three activities per attempt), kept (same commands, same order) so that runs started before
// deliveryWorkflowV2 replay and finish on an upgraded worker. New deliveries start deliveryWorkflowV2.
// Remove it once no `deliveryWorkflow` run is open (Temporal Web: WorkflowType="deliveryWorkflow" and
// ExecutionStatus="Running").
import {
  condition,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  ATTEMPT_ACTIVITY_OPTIONS,
  DB_ACTIVITY_OPTIONS,
  DEFER_MS,
  INFRA_RETRY_MS,
  deliveryGone,
  isInfrastructureFailure,
  isNotFoundFailure,
  rejectUpdate,
} from './loop';
import { nextDelayMs } from './retry';
import { SA_DELIVERY_STATUS } from './search-attributes';
import {
  cancelUpdate,
  redeliverUpdate,
  type AttemptRecord,
  type AttemptResult,
  type AttemptTrigger,
  type DeliveryWorkflowInput,
  type FinalStatus,
} from './types';

const { attemptDelivery } = proxyActivities<Activities>(ATTEMPT_ACTIVITY_OPTIONS);

const { loadDeliveryPlan, recordAttempt, recordCancelled } = proxyActivities<Activities>(DB_ACTIVITY_OPTIONS);


/**
 * Drives one delivery to success or failure, recording every attempt exactly. Changes here must replay the
 * histories of runs already open (test/fixtures/histories/): new branches only for outcomes those runs never saw
 * (a `DeliveryNotFound` failure), and update validators (not run on replay).
 */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<FinalStatus> {
  try {
    return await run(input);
  } catch (err) {
    if (isNotFoundFailure(err)) throw deliveryGone(input.deliveryId);
    throw err;
  }
}

async function run(input: DeliveryWorkflowInput): Promise<FinalStatus> {
  const plan = await loadDeliveryPlan(input.deliveryId);
  if ((plan.status === 'success' || plan.status === 'failed') && input.trigger !== 'manual') {
    return plan.status;
  }
  let woken = false;
  let cancelReason: string | undefined;
  let finished = false;
  setHandler(
    redeliverUpdate,
    () => {
      woken = true;
      return { accepted: !finished };
    },
    {
      validator: () => {
        if (finished) rejectUpdate('The delivery has already ended');
        if (cancelReason !== undefined) rejectUpdate('The delivery is being cancelled');
      },
    },
  );
  setHandler(
    cancelUpdate,
    (reason: string) => {
      cancelReason = reason || 'Cancelled by an operator; no further retries';
      return { accepted: !finished };
    },
    {
      validator: (_reason: string) => {
        if (finished) rejectUpdate('The delivery has already ended');
        if (cancelReason !== undefined) rejectUpdate('The delivery is already being cancelled');
      },
    },
  );

  let attempt = plan.attemptsSoFar;
  let trigger: AttemptTrigger = input.trigger ?? 'scheduled';
  let redelivery = input.redelivery === true;
  let infraFailures = 0;
  let deferrals = 0;
  // a manual run of a closed delivery gets a fresh attempt budget from where it stands
  let budget = (input.trigger === 'manual' ? plan.attemptsSoFar : 0) + plan.scheduleMs.length + 1;

  for (;;) {
    if (cancelReason) return cancel(input.deliveryId, cancelReason);
    attempt += 1;
    let result: AttemptResult;
    try {
      result = await attemptDelivery({ deliveryId: input.deliveryId, attempt, redelivery });
      infraFailures = 0;
    } catch (err) {
      if (isInfrastructureFailure(err)) {
        // nothing was sent: not an attempt; try again shortly
        attempt -= 1;
        await sleep(INFRA_RETRY_MS[Math.min(infraFailures++, INFRA_RETRY_MS.length - 1)]);
        continue;
      }
      // the row is gone (deleted, purged): waiting will not bring it back
      if (isNotFoundFailure(err)) throw err;
      // the activity timed out or its worker died: the provider may or may not have been called
      result = {
        outcome: 'retryable',
        startedAtMs: Date.now(),
        durationMs: 0,
        errorCode: 'attempt_lost',
        error: 'The attempt did not finish (timeout or worker restart); the receiver may have seen it',
      };
    }

    // (`held` never reaches V1 runs: their attempts do not pass a circuit; typed here for completeness)
    if (result.outcome === 'deferred' || result.outcome === 'held') {
      // another delivery is creating the external record this one must update: wait for it, not an attempt
      attempt -= 1;
      await condition(() => cancelReason !== undefined, DEFER_MS[Math.min(deferrals++, DEFER_MS.length - 1)]);
      continue;
    }
    deferrals = 0;
    const record: AttemptRecord = { ...result, outcome: result.outcome, deliveryId: input.deliveryId, attempt, trigger, status: 'failed' };
    let delayMs = 0;
    if (result.outcome === 'success') record.status = 'success';
    else if (result.outcome === 'retryable' && attempt < budget && !cancelReason) {
      record.status = 'retrying';
      delayMs = nextDelayMs(plan.scheduleMs, attempt, Math.random(), result.retryAfterMs);
      record.nextRetryAtMs = Date.now() + delayMs;
    }
    await recordAttempt(record);
    upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: record.status }]);
    if (record.status !== 'retrying') {
      if (woken && !cancelReason) {
        // an operator asked for another attempt while this one was finishing: honour it
        woken = false;
        trigger = 'manual';
        redelivery = record.status === 'success';
        budget = attempt + plan.scheduleMs.length + 1;
        continue;
      }
      finished = true;
      return record.status;
    }

    // a wake that arrived during the attempt is not lost: the wait ends at once
    await condition(() => woken || cancelReason !== undefined, delayMs);
    trigger = woken ? 'manual' : 'scheduled';
    woken = false;
  }
}

async function cancel(deliveryId: string, reason: string): Promise<FinalStatus> {
  await recordCancelled({ deliveryId, reason });
  upsertSearchAttributes([{ key: SA_DELIVERY_STATUS, value: 'failed' }]);
  return 'failed';
}
