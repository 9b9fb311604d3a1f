// A lean webhook receiver for the benchmark: counts, and the first time each delivery was seen.
// (test/fakes/receiver.ts keeps every request with headers and body; at hundreds per second that
// recording is itself load on a 2-core machine, so the bench keeps only what it reports.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** How one path answers: always 200, or 503 with probability `failRatio`, at most `maxFailsInARow` per delivery. */
export interface Behaviour {
  failRatio: number;
  maxFailsInARow: number;
}

const OK: Behaviour = { failRatio: 0, maxFailsInARow: 0 };

export class BenchReceiver {
  /** performance.now() when each `webhook-id` (the delivery id) was first seen (request headers in). */
  readonly firstSeen = new Map<string, number>();
  /** Requests seen per `webhook-id`. */
  readonly attempts = new Map<string, number>();
  /** performance.now() of the first 200 answered per `webhook-id` (the delivery succeeded then). */
  readonly okAt = new Map<string, number>();
  /** 200s answered per `webhook-id`: more than one is a duplicate delivery. */
  readonly okCount = new Map<string, number>();
  /** Consecutive 503s answered per `webhook-id`. */
  private readonly failsInARow = new Map<string, number>();
  /** Behaviour per path prefix (longest match wins); default: always 200. */
  readonly behaviours = new Map<string, Behaviour>();
  total = 0;
  answered503 = 0;
  answered200 = 0;
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const at = performance.now();
      this.total++;
      const id = String(req.headers['webhook-id'] ?? '');
      if (id && !this.firstSeen.has(id)) this.firstSeen.set(id, at);
      if (id) this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
      const b = this.behaviourFor(req.url ?? '/');
      let status = 200;
      if (b.failRatio > 0) {
        const inARow = this.failsInARow.get(id) ?? 0;
        if (inARow < b.maxFailsInARow && Math.random() < b.failRatio) {
          status = 503;
          this.failsInARow.set(id, inARow + 1);
        } else {
          this.failsInARow.set(id, 0);
        }
      }
      if (status === 503) this.answered503++;
      else {
        this.answered200++;
        if (id) {
          if (!this.okAt.has(id)) this.okAt.set(id, at);
          this.okCount.set(id, (this.okCount.get(id) ?? 0) + 1);
        }
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': status === 200 ? 11 : 2 });
        res.end(status === 200 ? '{"ok":true}' : '{}');
      });
    });
    this.server.keepAliveTimeout = 30_000;
    this.server.headersTimeout = 35_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Forgets what was seen (between phases). */
  reset(): void {
    this.firstSeen.clear();
    this.attempts.clear();
    this.failsInARow.clear();
    this.okAt.clear();
    this.okCount.clear();
    this.total = this.answered200 = this.answered503 = 0;
  }

  private behaviourFor(url: string): Behaviour {
    let best: [string, Behaviour] | undefined;
    for (const entry of this.behaviours) {
      if (url.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
    }
    return best?.[1] ?? OK;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
