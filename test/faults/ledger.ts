import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Receiver, Received, Reply } from '../fakes/receiver';

/** One request the receiver got, with the status it answered. */
export interface Hit {
  path: string;
  /** The `webhook-id` header: the delivery id, stable across attempts. */
  webhookId: string;
  /** The emission id from the Standard Webhooks envelope (`eventId`). */
  eventId: string;
  status: number;
  at: number;
}

/** How a path answers the `nth` request (1-based) carrying a given delivery id. */
export type Policy = (hit: { path: string; webhookId: string; eventId: string }, nth: number) => number;

/** The receiver's side of the books: every request, the answer it got, and per-path reply policies. */
export class Ledger {
  readonly hits: Hit[] = [];
  private readonly policies = new Map<string, Policy>();
  private readonly seen = new Map<string, number>();

  attach(receiver: Receiver): this {
    receiver.fallback = (r) => this.answer(r);
    return this;
  }

  /**
   * A second receiver on its own port that answers through this ledger after `delayMs()`: a slow webhook,
   * so attempts are in flight (already recorded here, not yet answered) when a fault hits.
   */
  async serveSlowly(delayMs: () => number): Promise<{ url: string; stop(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = this.answer({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        setTimeout(() => {
          res.writeHead(reply.status, reply.headers ?? {});
          res.end(reply.body ?? '');
        }, delayMs());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  }

  policy(path: string, policy: Policy): void {
    this.policies.set(path, policy);
  }

  forPath(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  private answer(r: Received): Reply {
    const path = r.url.split('?')[0];
    const webhookId = String(r.headers['webhook-id'] ?? '');
    let eventId = '';
    try {
      eventId = String((JSON.parse(r.body) as { eventId?: unknown }).eventId ?? '');
    } catch {
      // not our envelope; recorded with no event id
    }
    const nth = (this.seen.get(webhookId) ?? 0) + 1;
    this.seen.set(webhookId, nth);
    const status = this.policies.get(path)?.({ path, webhookId, eventId }, nth) ?? 200;
    this.hits.push({ path, webhookId, eventId, status, at: r.at });
    return status < 300
      ? { status, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' }
      : { status, headers: { 'content-type': 'application/json' }, body: '{"error":"try again later"}' };
  }
}
