import { ApplicationFailure, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RecoveryActivities } from '../activities/recovery';
import { historyIsLong } from './loop';
import { RECOVERY_FAILED_FAILURE, type RecoveryWorkflowInput } from './types';

// Redeliveries are requests to other workflows (quick, repeatable): a batch is retried until it goes through.
const { recoverBatch } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const { finishRecovery } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** Deliveries redelivered per activity. */
const RECOVERY_BATCH_SIZE = 100;

/**
 * Runs one bulk recovery (`POST /deliveries/recover`) in the background: batches of redeliveries until the
 * selection is exhausted; progress is written to the recovery's row by each batch.
 */
export async function recoverDeliveriesWorkflow(input: RecoveryWorkflowInput): Promise<void> {
  try {
    for (;;) {
      if (historyIsLong()) return continueAsNew<typeof recoverDeliveriesWorkflow>(input);
      const batch = await recoverBatch({ recoveryId: input.recoveryId, size: RECOVERY_BATCH_SIZE });
      if (batch.finished) break;
    }
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    await finishRecovery({ recoveryId: input.recoveryId, status: 'failed', error: `The recovery stopped: ${reason}` });
    throw ApplicationFailure.nonRetryable(`recovery ${input.recoveryId} stopped: ${reason}`, RECOVERY_FAILED_FAILURE);
  }
  await finishRecovery({ recoveryId: input.recoveryId, status: 'done' });
}
