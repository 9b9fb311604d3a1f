import { NativeConnection, Worker } from '@temporalio/worker';
import crypto from 'node:crypto';
import type { Activities } from '../../activities';
import { workflowSource } from '../../src/worker';
import { workerTracing } from '../../src/temporal/tracing';
import type { AttemptInput, AttemptReport, AttemptRecord, DeliveryPlan, StoredAttempt } from '../../workflows/types';

/** What a stub attempt does: a report to return, or an error to throw (e.g. an ApplicationFailure). */
export type StubStep = AttemptReport | { throw: Error };

/**
 * Hand-written activities for workflow tests: `deliverAttempt` plays `steps` in order (the last one repeats),
 * every call is kept, and `recordCancelled` can be held open to test what arrives while it runs.
 */
export class StubActivities {
  readonly attempts: AttemptInput[] = [];
  readonly records: AttemptRecord[] = [];
  readonly lost: AttemptInput[] = [];
  readonly cancelled: { deliveryId: string; reason: string }[] = [];
  plan: DeliveryPlan = { status: 'pending', attemptsSoFar: 0, scheduleMs: [] };
  /** While set, recordCancelled waits for it. */
  holdCancel?: Promise<void>;
  /** How many times recordCancelled has started (it may still be held). */
  cancelCalls = 0;

  constructor(private readonly steps: StubStep[]) {}

  activities(): Activities {
    const self = this;
    const step = (): StubStep => this.steps[Math.min(this.attempts.length - 1, this.steps.length - 1)];
    return {
      async loadDeliveryPlan() {
        return self.plan;
      },
      async deliverAttempt(input: AttemptInput): Promise<AttemptReport> {
        self.attempts.push(input);
        const s = step();
        if ('throw' in s) throw s.throw;
        return s;
      },
      async attemptDelivery(input: { deliveryId: string; attempt: number; redelivery: boolean }) {
        self.attempts.push({ ...input, trigger: 'scheduled', budgetBase: 0 });
        const s = step();
        if ('throw' in s) throw s.throw;
        if (s.kind === 'closed' || s.kind === 'throttled' || s.kind === 'held' || s.kind === 'waiting') throw new Error(`a ${s.kind} report has no V1 result`);
        return s.result;
      },
      async recordAttempt(r: AttemptRecord): Promise<StoredAttempt> {
        self.records.push(r);
        return { status: r.status, delayMs: r.nextRetryAtMs ? 100 : 0 };
      },
      async recordLostAttempt(input: AttemptInput): Promise<StoredAttempt> {
        self.lost.push(input);
        return { status: 'retrying', delayMs: 100 };
      },
      async recordCancelled(input: { deliveryId: string; reason: string }) {
        self.cancelCalls += 1;
        await self.holdCancel;
        self.cancelled.push(input);
      },
    } as Activities;
  }
}

/** A report of an attempt the activity logged with the given status (and wait before the next one). */
export function recorded(status: StoredAttempt['status'], delayMs = 0): AttemptReport {
  const outcome = status === 'success' ? 'success' : status === 'retrying' ? 'retryable' : 'permanent';
  return { kind: 'recorded', result: { outcome, startedAtMs: 0, durationMs: 1 }, stored: { status, delayMs } };
}

/** A worker on a fresh task queue running the real workflow bundle over `stubs`. */
export async function stubWorker(address: string, stubs: StubActivities): Promise<{ worker: Worker; taskQueue: string; close(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `stub-${crypto.randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    ...workflowSource(),
    // the bundle's tracing interceptors report their spans to this sink
    sinks: workerTracing(true, false).sinks,
    activities: stubs.activities(),
  });
  return {
    worker,
    taskQueue,
    async close() {
      await connection.close();
    },
  };
}
