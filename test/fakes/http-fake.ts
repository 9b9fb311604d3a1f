import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What every local HTTP fake of a provider API shares: it listens on a free loopback port, reads each request
 * whole, records it, answers it (a scripted answer first where the test queued one), and closes with every
 * connection. A fake extends it with the API's own shapes and rules (`answer`), and reads its requests from
 * `requests`.
 */
export interface FakeRequest {
  method: string;
  /** The path without the query. */
  path: string;
  /** The path with the query, as sent. */
  url: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: any;
  /** When it arrived (Date.now()). */
  at: number;
}

/** An answer to write: a string or Buffer body goes as it is, anything else as JSON. */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The request as every fake records it. */
export function readRequest(req: http.IncomingMessage, body: string): FakeRequest {
  const url = new URL(req.url ?? '/', 'http://fake');
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { method: req.method ?? '', path: url.pathname, url: req.url ?? '', query: url.searchParams, headers: req.headers, body, json, at: Date.now() };
}

/** Takes (removes and returns) the first scripted answer `matches` accepts, if any: scripted failures come first. */
export function takeScripted<T>(script: T[], matches: (s: T) => boolean = () => true): T | undefined {
  const i = script.findIndex(matches);
  return i >= 0 ? script.splice(i, 1)[0] : undefined;
}

export abstract class HttpFake<R extends FakeRequest = FakeRequest> {
  /** Every request, in arrival order. */
  readonly requests: R[] = [];
  /** `http://127.0.0.1:<port>`, once started. */
  origin = '';
  private server?: http.Server;

  /** Answers one recorded request (a fake that writes its answers itself overrides `handle` instead). */
  protected answer(_r: R): FakeAnswer {
    throw new Error(`${this.constructor.name} answers in handle()`);
  }

  /** What is recorded of a request (a fake may add fields of its own). */
  protected record(req: http.IncomingMessage, body: string): R {
    return readRequest(req, body) as R;
  }

  /** Headers every answer of this API carries (the answer's own win). */
  protected defaultHeaders(_answer: FakeAnswer): Record<string, string> {
    return {};
  }

  /** Writes an answer: a string or Buffer as it is, undefined as nothing, anything else as JSON. */
  protected write(res: http.ServerResponse, a: FakeAnswer): void {
    res.writeHead(a.status, { ...this.defaultHeaders(a), ...a.headers });
    if (a.body === undefined) res.end();
    else if (typeof a.body === 'string' || Buffer.isBuffer(a.body)) res.end(a.body);
    else res.end(JSON.stringify(a.body));
  }

  /** Reads, records and answers one request; a fake whose answer is not a plain FakeAnswer overrides it. */
  protected handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const r = this.record(req, body);
    this.requests.push(r);
    this.write(res, this.answer(r));
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
