import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention';
import { PURGE_PHASES, type PurgePhase, type PurgePlan } from './retention-plan';
import { historyIsLong } from './loop';

// Database-only work: retried until the database answers (decision 1), each step bounded in time.
const { planPurge, purgeStep } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});


/** Where a (continued) retention run stands. */
interface RetentionWorkflowInput {
  plan?: PurgePlan;
  phaseIndex?: number;
  totals?: Partial<Record<PurgePhase, number>>;
  /** Where the current phase's walk stands (epoch ms of the newest row it picked). */
  fromMs?: number;
}

/**
 * One retention run (the daily schedule starts it; `npm run purge` does the same work in-process): the
 * cut-offs are fixed once, then each phase runs as activities of bounded batches until it is done.
 */
export async function retentionWorkflow(input: RetentionWorkflowInput = {}): Promise<Partial<Record<PurgePhase, number>>> {
  const plan = input.plan ?? (await planPurge());
  const totals = { ...input.totals };
  for (let i = input.phaseIndex ?? 0; i < PURGE_PHASES.length; i++) {
    const phase = PURGE_PHASES[i];
    let fromMs = i === input.phaseIndex ? input.fromMs : undefined;
    for (;;) {
      if (historyIsLong()) return continueAsNew<typeof retentionWorkflow>({ plan, phaseIndex: i, totals, fromMs });
      const step = await purgeStep({ plan, phase, fromMs });
      fromMs = step.resumeAtMs;
      totals[phase] = (totals[phase] ?? 0) + step.purged;
      if (step.done) break;
    }
  }
  return totals;
}
