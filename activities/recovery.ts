import { Context } from '@temporalio/activity';
import type { RecoveryStore } from '../src/deliveries/recoveries';
import type { Logger } from '../src/logger';
import { safeErrorMessage } from '../providers/shared/sanitise';
import { DeliveryWorkflows } from '../src/temporal/deliveries';
import type { RecoveryBatch } from '../workflows/types';

/** What the recovery activities need: the recoveries table and where delivery workflows run. */
export interface RecoveryActivityDeps {
  recoveries: RecoveryStore;
  logger: Logger;
  namespace: string;
  /** The task queue of the delivery workflows it redelivers. */
  taskQueue: string;
}

/** Redeliveries requested at once within a batch. */
const CONCURRENCY = 16;

/** Builds the activities of recoverDeliveriesWorkflow. */
export function createRecoveryActivities(deps: RecoveryActivityDeps) {
  const { recoveries, logger } = deps;

  /**
   * Redelivers the next `size` failed deliveries of a recovery after its cursor and counts them in its row.
   * Safe to retry: a batch already counted is not counted again, and a delivery already redelivered is no
   * longer failed, so it is not picked again.
   */
  async function recoverBatch(input: { recoveryId: string; size: number }): Promise<RecoveryBatch> {
    const at = await recoveries.position(input.recoveryId);
    if (!at) return { handled: 0, finished: true };
    const room = Math.min(input.size, at.total - at.handled);
    if (room <= 0) return { handled: at.handled, finished: true };
    const rows = await recoveries.nextBatch(at.filter, at.cursor, room);
    if (rows.length === 0) return { handled: at.handled, finished: true };
    // the activity's own client (the worker's connection) steers the delivery workflows
    const workflows = new DeliveryWorkflows(Context.current().client, deps.taskQueue, '', deps.namespace);
    let done = 0;
    let failed = 0;
    for (let i = 0; i < rows.length; i += CONCURRENCY) {
      Context.current().heartbeat(i);
      const results = await Promise.allSettled(rows.slice(i, i + CONCURRENCY).map((r) => workflows.redeliver(r)));
      for (const [j, r] of results.entries()) {
        if (r.status === 'fulfilled') done += 1;
        else {
          failed += 1;
          logger.warn({ recoveryId: input.recoveryId, deliveryId: rows[i + j].id, err: safeErrorMessage(r.reason) }, 'recovery: redelivery not requested');
        }
      }
    }
    await recoveries.advance(input.recoveryId, at.cursor, rows[rows.length - 1].id, done, failed);
    const handled = at.handled + done + failed;
    return { handled, finished: rows.length < room || handled >= at.total };
  }

  /** Ends a recovery as done, or as failed with a reason. */
  async function finishRecovery(input: { recoveryId: string; status: 'done' | 'failed'; error?: string }): Promise<void> {
    await recoveries.finish(input.recoveryId, input.status, input.error);
  }

  return { recoverBatch, finishRecovery };
}

/** The recovery activity interface the workflow proxies. */
export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
