/**
 * Spaces requests out to at most `perSecond` on average, over every caller of one instance (a worker process'
 * recoveries and replays share one): `take(n)` reserves the next n places and resolves when the first is due.
 * What bounds how fast background jobs hand work to the delivery queue (BACKGROUND_REQUESTS_PER_SECOND), so a
 * burst of jobs cannot bury new deliveries under their redeliveries.
 */
export class Pace {
  private next = 0;

  constructor(private readonly perSecond: number) {}

  async take(n: number): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + (n * 1000) / this.perSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}
