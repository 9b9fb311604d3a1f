/** What one ingest request got: an HTTP status, or no answer at all. */
export type PostStatus = number | 'network' | 'timeout';

/** One event posted by the load generator, with the answer to its first try and any later retries. */
export interface Post {
  id: string;
  seq: number;
  sentAt: number;
  status?: PostStatus;
  /** Retry-After of a 503/429 answer. */
  retryAfter?: string | null;
  answeredAt?: number;
  /** Delivery ids from the 2xx body (first try or a retry). */
  deliveryIds: string[];
  /** Statuses of client retries after the fault (same id, so the API answers 200 for a stored emission). */
  retries: PostStatus[];
}

const isAccepted = (s: PostStatus | undefined) => typeof s === 'number' && s >= 200 && s < 300;
/** What a well-behaved client retries: overload, unavailability, and no answer at all. */
const isRetryable = (s: PostStatus | undefined) => s === 503 || s === 429 || s === 'network' || s === 'timeout';

/**
 * Posts `incident.created` events at a steady rate, each with a unique emission id, without waiting for
 * earlier answers (a fault must not slow the arrival rate down). Records every answer for the accounting.
 */
export class LoadGenerator {
  readonly posts: Post[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly opts: {
      baseUrl: () => string;
      token: string;
      /** Emission id prefix; unique per scenario and run. */
      prefix: string;
      /** The system id that only this scenario's subscription filters on. */
      systemId: string;
      requestTimeoutMs?: number;
    },
  ) {}

  /** Starts posting `ratePerSecond` events a second (drift-free: catches up after a slow tick). */
  start(ratePerSecond: number): void {
    const t0 = Date.now();
    let sent = 0;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - t0) * ratePerSecond) / 1000);
      while (sent < due) {
        sent++;
        this.track(this.postNew());
      }
    }, 20);
  }

  /** Stops posting and waits for every answer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  /** First-try statuses, e.g. `{202: 180, 503: 20}`. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const p of this.posts) counts[String(p.status)] = (counts[String(p.status)] ?? 0) + 1;
    return counts;
  }

  /** The slowest first-try answer, in milliseconds. */
  slowestAnswerMs(): number {
    return Math.max(0, ...this.posts.filter((p) => p.answeredAt).map((p) => p.answeredAt! - p.sentAt));
  }

  /** Posts answered 2xx on their first try. */
  acceptedFirstTry(): Post[] {
    return this.posts.filter((p) => isAccepted(p.status));
  }

  /** Posts answered 2xx, on the first try or a retry. */
  accepted(): Post[] {
    return this.posts.filter((p) => p.deliveryIds.length > 0 || isAccepted(p.status) || p.retries.some(isAccepted));
  }

  /** Posts whose first try a client would retry (503, 429, no answer). */
  retryable(): Post[] {
    return this.posts.filter((p) => isRetryable(p.status));
  }

  /**
   * Retries, as a client would, every post whose first try got 503/429 or no answer, with the same id,
   * a few at a time, until each is answered 2xx or `deadlineMs` passes.
   */
  async retryUnaccepted(deadlineMs: number): Promise<void> {
    const queue = this.retryable().filter((p) => !p.retries.some(isAccepted));
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        while (Date.now() < deadlineMs) {
          const r = await this.send(p.id);
          p.retries.push(r.status);
          if (isAccepted(r.status)) {
            p.deliveryIds = r.deliveryIds;
            break;
          }
          await new Promise((res) => setTimeout(res, 1000));
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async postNew(): Promise<void> {
    const seq = this.posts.length;
    const post: Post = { id: `${this.opts.prefix}-${String(seq).padStart(5, '0')}`, seq, sentAt: Date.now(), deliveryIds: [], retries: [] };
    this.posts.push(post);
    const r = await this.send(post.id);
    post.status = r.status;
    post.retryAfter = r.retryAfter;
    post.answeredAt = Date.now();
    if (isAccepted(r.status)) post.deliveryIds = r.deliveryIds;
  }

  private async send(id: string): Promise<{ status: PostStatus; retryAfter?: string | null; deliveryIds: string[] }> {
    try {
      const res = await fetch(`${this.opts.baseUrl()}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          event: 'incident.created',
          id,
          systemIds: [this.opts.systemId],
          payload: { incidentId: id, title: `fault injection ${id}`, severity: 'minor' },
        }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 60_000),
      });
      const text = await res.text();
      let deliveryIds: string[] = [];
      if (res.status >= 200 && res.status < 300) {
        deliveryIds = (JSON.parse(text) as { deliveries: { id: string }[] }).deliveries.map((d) => d.id);
      }
      return { status: res.status, retryAfter: res.headers.get('retry-after'), deliveryIds };
    } catch (err) {
      const name = (err as Error).name;
      return { status: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network', deliveryIds: [] };
    }
  }
}
