import { ApplicationFailure, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ReplayActivities } from '../activities/replay';
import { historyIsLong } from './loop';
import { REPLAY_FAILED_FAILURE, type ReplayWorkflowInput } from './types';

// Inserts and workflow starts (quick, repeatable): a batch is retried until it goes through, unless the
// subscription stopped taking deliveries (a non-retryable failure).
const { replayBatch } = proxyActivities<ReplayActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});
const { finishReplay } = proxyActivities<ReplayActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** Emissions handed over per activity. */
const REPLAY_BATCH_SIZE = 100;

/**
 * Runs one replay (`POST /subscriptions/{id}/replay`) in the background: batches of missed emissions until the
 * range is exhausted; progress is written to the replay's row by each batch.
 */
export async function replayMissedWorkflow(input: ReplayWorkflowInput): Promise<void> {
  try {
    for (;;) {
      if (historyIsLong()) return continueAsNew<typeof replayMissedWorkflow>(input);
      const batch = await replayBatch({ replayId: input.replayId, size: REPLAY_BATCH_SIZE });
      if (batch.finished) break;
    }
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    await finishReplay({ replayId: input.replayId, status: 'failed', error: `The replay stopped: ${reason}` });
    throw ApplicationFailure.nonRetryable(`replay ${input.replayId} stopped: ${reason}`, REPLAY_FAILED_FAILURE);
  }
  await finishReplay({ replayId: input.replayId, status: 'done' });
}
