import type { Logger } from '../logger';
import type { DeliveryRef } from '../temporal/deliveries';

/** Defaults of WORKFLOW_START_CONCURRENCY and WORKFLOW_START_QUEUE. */
const DEFAULT_START_CONCURRENCY = 16;
const DEFAULT_START_QUEUE = 5_000;

/** How one submitted start ended: started (or already running), failed at Temporal, or left to the reconciler untried. */
type StartOutcome = 'started' | 'failed' | 'left';

interface Queued {
  d: DeliveryRef;
  resolve: (o: StartOutcome) => void;
}

/**
 * Workflow starts with backpressure (issue 22): at most `limit` starts in flight, the rest wait in a bounded queue,
 * so a slow or saturated Temporal sees a steady stream instead of every accepted event at once, and each start's
 * deadline counts from when it is sent, not from when it was queued. The limit adapts: +1 after a limit's worth
 * of successes (up to `maxInFlight`), halved on a failure; a failure while the limit is already 1 means Temporal
 * is not taking starts, and the queue is left to the reconciler (its rows are durable) instead of timing out one
 * by one. A start already queued or in flight is not sent twice (the reconciler joins it).
 */
export class StartPacer {
  private limit: number;
  private inFlight = 0;
  private okSinceRaise = 0;
  private readonly queue: Queued[] = [];
  private readonly pending = new Map<string, Promise<StartOutcome>>();
  /** Counters since start-up (tests, logs). */
  readonly counts = { started: 0, failed: 0, left: 0 };

  constructor(
    private readonly start: (d: DeliveryRef) => Promise<void>,
    private readonly logger: Logger,
    private readonly maxInFlight = DEFAULT_START_CONCURRENCY,
    private readonly maxQueued = DEFAULT_START_QUEUE,
  ) {
    this.limit = maxInFlight;
  }

  /** Starts (queued or in flight) not yet ended. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Submits one start; never rejects. */
  submit(d: DeliveryRef): Promise<StartOutcome> {
    const known = this.pending.get(d.id);
    if (known) return known;
    if (this.queue.length >= this.maxQueued) {
      this.counts.left++;
      return Promise.resolve('left');
    }
    const p = new Promise<StartOutcome>((resolve) => this.queue.push({ d, resolve }));
    this.pending.set(d.id, p);
    void p.finally(() => this.pending.delete(d.id));
    this.pump();
    return p;
  }

  private pump(): void {
    while (this.inFlight < this.limit && this.queue.length > 0) {
      const { d, resolve } = this.queue.shift()!;
      this.inFlight++;
      this.start(d).then(
        () => {
          this.inFlight--;
          this.counts.started++;
          if (this.limit < this.maxInFlight && ++this.okSinceRaise >= this.limit) {
            this.limit++;
            this.okSinceRaise = 0;
          }
          resolve('started');
          this.pump();
        },
        (err: unknown) => {
          this.inFlight--;
          this.counts.failed++;
          this.logger.warn({ deliveryId: d.id, err: (err as Error).message, inFlightLimit: this.limit }, 'workflow start failed; the reconciler will retry');
          const wasProbing = this.limit === 1;
          this.limit = Math.max(1, Math.floor(this.limit / 2));
          this.okSinceRaise = 0;
          resolve('failed');
          if (wasProbing) this.shed();
          this.pump();
        },
      );
    }
  }

  /** Leaves every queued start to the reconciler (Temporal is not taking starts now). */
  private shed(): void {
    const left = this.queue.splice(0);
    if (left.length === 0) return;
    this.counts.left += left.length;
    this.logger.warn({ count: left.length }, 'Temporal is not taking workflow starts: the queued ones are left to the reconciler');
    for (const q of left) q.resolve('left');
  }
}
