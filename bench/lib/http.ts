// A lean keep-alive HTTP client and an open-loop load generator for the benchmark.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { sleep } from './stats';

/** One finished request. Times are `performance.now()` milliseconds. */
export interface HttpResult {
  status: number;
  body: string;
  sentAt: number;
  endedAt: number;
  /** Set when no HTTP answer came (connection error, timeout). */
  error?: string;
}

/** Keep-alive HTTP/1.1 client for one origin (node:http, no per-request allocation of agents). */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, opts: { maxSockets?: number } = {}) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 256, keepAliveMsecs: 10_000 });
  }

  /** Sends one request; never rejects (errors come back in `error`, status 0). */
  request(method: string, path: string, opts: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpResult> {
    const sentAt = performance.now();
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: Omit<HttpResult, 'sentAt' | 'endedAt'>) => {
        if (done) return;
        done = true;
        resolve({ ...r, sentAt, endedAt: performance.now() });
      };
      const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
      if (opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = Buffer.byteLength(opts.body);
      }
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => finish({ status: 0, body: '', error: err.message }));
      });
      req.setTimeout(opts.timeoutMs ?? 10_000, () => {
        req.destroy(new Error('timeout'));
      });
      req.on('error', (err) => finish({ status: 0, body: '', error: err.message }));
      req.end(opts.body);
    });
  }

  /** JSON request; throws on a non-2xx answer or a transport error. */
  async json<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; ms: number }> {
    const r = await this.request(method, path, { body: body === undefined ? undefined : JSON.stringify(body), headers });
    if (r.error) throw new Error(`${method} ${path}: ${r.error}`);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    return { status: r.status, body: (r.body ? JSON.parse(r.body) : undefined) as T, ms: r.endedAt - r.sentAt };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One request of an open-loop run: when it was due, when it went out, how it ended. */
export type ScheduledResult<T = HttpResult> = T & {
  index: number;
  /** When the schedule said to send it (performance.now() ms); latency is measured from here. */
  dueAt: number;
};

/**
 * Open-loop load: request `i` is due at start + i / rate and is sent then, whatever the earlier
 * requests are doing (no coordinated omission: latency counts from the due time, so a lagging
 * generator or a full socket pool shows up as latency, not as a lower offered rate).
 */
export async function openLoop<T = HttpResult>(opts: {
  ratePerSecond: number;
  durationMs: number;
  send: (index: number) => Promise<T>;
}): Promise<{ results: ScheduledResult<T>[]; startedAt: number; scheduleEndedAt: number }> {
  const total = Math.max(1, Math.round((opts.ratePerSecond * opts.durationMs) / 1000));
  const intervalMs = 1000 / opts.ratePerSecond;
  const startedAt = performance.now();
  const pending: Promise<ScheduledResult<T>>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && startedAt + next * intervalMs <= now) {
      const index = next++;
      const dueAt = startedAt + index * intervalMs;
      pending.push(opts.send(index).then((r) => ({ ...r, index, dueAt })));
    }
    if (next < total) await sleep(Math.max(0, Math.min(intervalMs, startedAt + next * intervalMs - performance.now())));
  }
  const scheduleEndedAt = performance.now();
  return { results: await Promise.all(pending), startedAt, scheduleEndedAt };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function closedLoop<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  });
  await Promise.all(lanes);
  return out;
}
