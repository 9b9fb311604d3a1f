import { Context } from '@temporalio/activity';
import type { Logger } from '../src/logger';
import type { RetentionPurger } from '../src/deliveries/retention';
import { purgePlan, type PurgePhase, type PurgePlan } from '../workflows/retention-plan';

/** What the retention activities need: the purger and the configured ages. */
interface RetentionActivityDeps {
  purger: RetentionPurger;
  retention: { rowsMaxAgeMs: number; payloadsMaxAgeMs: number };
  logger: Logger;
}

/** How long one purge activity runs batches before it hands back to the workflow (its heartbeat keeps it alive). */
const STEP_BUDGET_MS = 20_000;

/** Builds the activities of retentionWorkflow. */
export function createRetentionActivities(deps: RetentionActivityDeps) {
  /** The cut-offs of this run, from the worker's configured ages and the time now. */
  async function planPurge(): Promise<PurgePlan> {
    return purgePlan(deps.retention, Date.now());
  }

  /**
   * Runs batches of one phase for up to STEP_BUDGET_MS from `fromMs` (where the previous step stopped). Safe to
   * retry: a batch only ever removes rows that are still past the cut-off, so a repeated one finds the rest.
   */
  async function purgeStep(input: { plan: PurgePlan; phase: PurgePhase; fromMs?: number }): Promise<{ purged: number; done: boolean; resumeAtMs: number }> {
    let total = 0;
    const r = await deps.purger.phase(
      input.plan,
      input.phase,
      STEP_BUDGET_MS,
      (n) => {
        total += n;
        Context.current().heartbeat(total);
      },
      input.fromMs,
    );
    if (r.purged > 0) deps.logger.info({ phase: input.phase, purged: r.purged, done: r.done }, 'retention: purged');
    return r;
  }

  return { planPurge, purgeStep };
}

/** The retention activity interface the workflow proxies. */
export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
