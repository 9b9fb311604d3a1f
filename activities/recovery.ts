import { Context } from '@temporalio/activity';
import type { RecoveryStore } from '../src/deliveries/recoveries';
import type { Logger } from '../src/logger';
import { safeErrorMessage } from '../providers/shared/sanitise';
import { DeliveryWorkflows } from '../src/temporal/deliveries';
import type { RecoveryBatch } from '../workflows/types';
import type { Pace } from './pace';

/** What the recovery activities need: the recoveries table and where delivery workflows run. */
interface RecoveryActivityDeps {
  recoveries: RecoveryStore;
  logger: Logger;
  namespace: string;
  /** The task queue of the delivery workflows it redelivers. */
  taskQueue: string;
  /** How fast redeliveries may be asked for (shared with the replays of the process); absent: as fast as they go. */
  pace?: Pace;
}

/** Redeliveries requested at once within a batch. */
const CONCURRENCY = 16;

/** Builds the activities of recoverDeliveriesWorkflow. */
export function createRecoveryActivities(deps: RecoveryActivityDeps) {
  const { recoveries, logger } = deps;

  /**
   * Redelivers the next `size` failed deliveries of a recovery after its cursor and counts them in its row.
   * Safe to retry: a batch already counted is not counted again, and a delivery is claimed (failed -> retrying, in
   * one UPDATE) before its redelivery, so neither a retried batch nor an overlapping recovery redelivers it twice.
   */
  async function recoverBatch(input: { recoveryId: string; size: number }): Promise<RecoveryBatch> {
    const at = await recoveries.position(input.recoveryId);
    if (!at) return { handled: 0, finished: true };
    const room = Math.min(input.size, at.total - at.handled);
    if (room <= 0) return { handled: at.handled, finished: true };
    const rows = await recoveries.nextBatch(at.filter, at.cursor, room);
    if (rows.length === 0) return { handled: at.handled, finished: true };
    // only what this batch claims is redelivered: another recovery may have taken (and be redelivering) the rest
    const claimed = await recoveries.claim(rows.map((r) => r.id));
    const mine = rows.filter((r) => claimed.has(r.id));
    // the activity's own client (the worker's connection) steers the delivery workflows
    const ctx = Context.current();
    const workflows = new DeliveryWorkflows(ctx.client, deps.taskQueue, '', deps.namespace);
    let done = 0;
    let failed = 0;
    for (let i = 0; i < mine.length; i += CONCURRENCY) {
      ctx.heartbeat(i);
      const group = mine.slice(i, i + CONCURRENCY);
      // one place in the pace per redelivery, each sent when its place is due (spaced, not 16 at once); a cancelled
      // or timed-out activity gives its slot back now, not after its turns or the requests in flight
      const results = await Promise.race([Promise.allSettled(group.map(async (r) => {
        await deps.pace?.take(1);
        return workflows.redeliver(r, { background: true });
      })), ctx.cancelled]);
      for (const [j, r] of results.entries()) {
        if (r.status === 'fulfilled') done += 1;
        else {
          failed += 1;
          await recoveries.unclaim(mine[i + j].id);
          logger.warn({ recoveryId: input.recoveryId, deliveryId: mine[i + j].id, err: safeErrorMessage(r.reason) }, 'recovery: redelivery not requested');
        }
      }
    }
    // a delivery another recovery claimed is counted by that one (in neither `done` nor `failed` here)
    let handled = at.handled + done + failed;
    if (!(await recoveries.advance(input.recoveryId, at.cursor, rows[rows.length - 1].id, done, failed))) {
      // another try of this batch (one that timed out but ran on) moved the cursor first; it counted only what it
      // claimed, so this try's own redeliveries are added, and the progress is read back
      await recoveries.addCounts(input.recoveryId, done, failed);
      handled = (await recoveries.position(input.recoveryId))?.handled ?? handled;
    }
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
