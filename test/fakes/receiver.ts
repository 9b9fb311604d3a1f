import type http from 'node:http';
import { HttpFake, type FakeAnswer } from './http-fake';

/** One request as the receiver saw it (what `received` holds has more: `path`, `query`, `json`). */
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
export class Receiver extends HttpFake {
  /** Every request, in arrival order (the same array as `requests`). */
  get received(): Received[] {
    return this.requests;
  }
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  readonly script: Reply[] = [];
  fallback: (req: Received) => Reply = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });

  /** The receiver's base URL. */
  get url(): string {
    return this.origin;
  }

  protected override answer(r: Received): FakeAnswer {
    const reply = this.script.shift() ?? this.fallback(r);
    return { status: reply.status, headers: reply.headers ?? {}, body: reply.body ?? '' };
  }

  /** Requests whose path starts with `prefix`. */
  at(prefix: string): Received[] {
    return this.received.filter((r) => r.url.startsWith(prefix));
  }
}
