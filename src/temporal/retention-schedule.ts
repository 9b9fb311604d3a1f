import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Logger } from '../logger';
import { retentionWorkflow } from '../../workflows/retention';

/** The id of the daily retention schedule of a deployment (one per task queue). */
export function retentionScheduleId(taskQueue: string): string {
  return `retention:${taskQueue}`;
}

/**
 * Makes the daily retention schedule match the configuration, from every worker at start: creates it
 * (an existing one is "already running" and gets the configured cron), or deletes it when the schedule is
 * off (`cron` null). Runs never overlap: a run still purging when the next is due makes it skip.
 */
export async function ensureRetentionSchedule(
  client: Client,
  opts: { taskQueue: string; cron: string | null },
  logger: Logger,
): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const scheduleId = retentionScheduleId(opts.taskQueue);
  if (opts.cron === null) {
    try {
      await client.schedule.getHandle(scheduleId).delete();
      logger.info({ scheduleId }, 'retention schedule deleted (RETENTION_SCHEDULE=off)');
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: retentionWorkflow, // by reference: the function's name
    workflowId: `retention:${opts.taskQueue}`,
    taskQueue: opts.taskQueue,
    args: [{}],
  };
  const spec = { cronExpressions: [opts.cron] };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    logger.info({ scheduleId, cron: opts.cron }, 'retention schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  return 'updated';
}
