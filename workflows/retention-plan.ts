// Pure helpers of the retention purge, shared by the workflow, the activities and `npm run purge`.

/** What one purge phase removes, in the order they run: rows first, so no payload is purged on a row about to go. */
export const PURGE_PHASES = ['deliveries', 'deliveryPayloads', 'emissions', 'emissionPayloads'] as const;
export type PurgePhase = (typeof PURGE_PHASES)[number];

/** Cut-offs of one purge run, epoch ms; null = that kind is kept forever. */
export interface PurgePlan {
  rowsBeforeMs: number | null;
  payloadsBeforeMs: number | null;
}

/** The cut-offs for `nowMs` under the configured ages (0 = keep forever). */
export function purgePlan(retention: { rowsMaxAgeMs: number; payloadsMaxAgeMs: number }, nowMs: number): PurgePlan {
  return {
    rowsBeforeMs: retention.rowsMaxAgeMs > 0 ? nowMs - retention.rowsMaxAgeMs : null,
    payloadsBeforeMs: retention.payloadsMaxAgeMs > 0 ? nowMs - retention.payloadsMaxAgeMs : null,
  };
}

/** The cut-off a phase uses, or null when the plan keeps that kind. */
export function cutoffOf(plan: PurgePlan, phase: PurgePhase): number | null {
  return phase === 'deliveries' || phase === 'emissions' ? plan.rowsBeforeMs : plan.payloadsBeforeMs;
}
