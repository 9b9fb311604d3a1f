/** One server-sent event as a client parses it. */
export interface SseEvent {
  event: string;
  data: any;
}

/**
 * A server-sent-events client over fetch: collects events as they arrive; `next()` waits for the first
 * event (after those already taken) that satisfies `match`.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  headers?: Headers;
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private done = false;

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: c.abort.signal });
    c.status = res.status;
    c.headers = res.headers;
    if (res.ok && res.body) void c.read(res.body);
    else c.done = true;
    return c;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (!data.length) continue;
          this.events.push({ event, data: JSON.parse(data.join('\n')) });
          this.waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    }
    this.done = true;
    this.waiters.splice(0).forEach((w) => w());
  }

  /** The first event satisfying `match`; fails after `timeoutMs`. */
  async next(match: (e: SseEvent) => boolean, what: string, timeoutMs = 20_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(match);
      if (hit) return hit;
      if (this.done) throw new Error(`stream ended before ${what}; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}
