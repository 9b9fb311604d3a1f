import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from '../src/logger';
import type { ReplayStore } from '../src/deliveries/replays';
import { DeliveryWorkflows } from '../src/temporal/deliveries';
import { safeErrorMessage } from '../providers/shared/sanitise';
import { SUBSCRIPTION_INACTIVE_FAILURE, type ReplayBatch } from '../workflows/types';
import type { Pace } from './pace';

/** What the replay activities need: the replays table and where delivery workflows run. */
interface ReplayActivityDeps {
  replays: ReplayStore;
  logger: Logger;
  namespace: string;
  /** The task queue of the delivery workflows it starts. */
  taskQueue: string;
  /** How fast delivery workflows may be started (shared with the recoveries of the process); absent: as fast as they go. */
  pace?: Pace;
}

/** Workflow starts requested at once within a batch. */
const CONCURRENCY = 16;

/** Builds the activities of replayMissedWorkflow. */
export function createReplayActivities(deps: ReplayActivityDeps) {
  const { replays, logger } = deps;

  /**
   * Hands the next `size` matched emissions after the replay's cursor to its subscription and counts them.
   * Safe to retry: deliveries are inserted under the (emission, subscription) key, workflows are started under
   * their derived id (a second start is refused by Temporal), and a batch already counted is not counted again.
   * A subscription disabled, paused or deleted meanwhile stops the replay (non-retryable).
   */
  async function replayBatch(input: { replayId: string; size: number }): Promise<ReplayBatch> {
    const at = await replays.position(input.replayId);
    if (!at) return { finished: true };
    if (!(await replays.isActive(at.subscriptionId))) {
      throw ApplicationFailure.nonRetryable('the subscription was disabled, paused or deleted', SUBSCRIPTION_INACTIVE_FAILURE);
    }
    const emissions = await replays.nextEmissions(at, input.size);
    if (emissions.length === 0) return { finished: true };
    const ctx = Context.current();
    const workflows = new DeliveryWorkflows(ctx.client, deps.taskQueue, '', deps.namespace);
    let inserted = 0;
    for (let i = 0; i < emissions.length; i += CONCURRENCY) {
      ctx.heartbeat(i);
      // only emissions without a started delivery take a place in the pace (overlapping replays find most started)
      const open = await replays.withoutStartedDelivery(at.subscriptionId, emissions.slice(i, i + CONCURRENCY));
      // each delivery is inserted when its place in the pace is due and started at once: a row left unstarted for
      // longer than the reconciler's grace (5 s) would be started by the reconciler, unpaced, with its neighbours;
      // a cancelled or timed-out activity gives its slot back now, not after its turns or the starts in flight
      await Promise.race([Promise.all(open.map(async (emissionId) => {
        await deps.pace?.take(1);
        const r = await replays.insertDeliveries(at.subscriptionId, [emissionId]);
        inserted += r.inserted;
        for (const d of r.unstarted) {
          try {
            await workflows.start(d, { background: true });
          } catch (err) {
            // the row is durable and unmarked: the reconciler starts it
            logger.warn({ replayId: input.replayId, deliveryId: d.id, err: safeErrorMessage(err) }, 'replay: workflow start failed; the reconciler will retry');
            continue;
          }
          await replays.markStarted([d.id]);
        }
      })), ctx.cancelled]);
    }
    await replays.advance(input.replayId, at.cursor, emissions[emissions.length - 1], inserted, emissions.length - inserted);
    return { finished: emissions.length < input.size };
  }

  /** Ends a replay as done, or as failed with a reason. */
  async function finishReplay(input: { replayId: string; status: 'done' | 'failed'; error?: string }): Promise<void> {
    await replays.finish(input.replayId, input.status, input.error);
  }

  return { replayBatch, finishReplay };
}

/** The replay activity interface the workflow proxies. */
export type ReplayActivities = ReturnType<typeof createReplayActivities>;
