import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers; `respond` may be set per test (default 200 `{"ok":true}`). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A local HTTP receiver that records every request and answers as scripted. */
export class Receiver {
  readonly received: Received[] = [];
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  readonly script: Reply[] = [];
  fallback: (req: Received) => Reply = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.received.push(r);
        const reply = this.script.shift() ?? this.fallback(r);
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests whose path starts with `prefix`. */
  at(prefix: string): Received[] {
    return this.received.filter((r) => r.url.startsWith(prefix));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
