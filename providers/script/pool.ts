import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, SandboxFetchReply, SandboxFetchRequest, SandboxJob, SandboxResult, ToWorker, WorkerStats } from './protocol';
import { quickJsWasm } from './quickjs';

/** Makes a sandbox's fetch on the delivering thread (through the guarded client). */
export type FetchHandler = (request: SandboxFetchRequest, timeoutMs: number) => Promise<SandboxFetchReply>;

/** Limits of a pool of sandbox threads. */
export interface SandboxPoolOptions {
  /** Threads at most; each runs one script at a time. */
  maxThreads: number;
  /** How long a run may wait for a free thread before it gives up (a retryable failure). */
  queueTimeoutMs: number;
  /** How long past its own deadline a run may go unanswered before its thread is terminated. */
  killGraceMs: number;
  /**
   * Threads one owner (a subscription) may hold at once; its further runs wait while other owners' runs take the
   * free threads (issue 19: one subscription's busy loops starved every other script). Default: half the threads,
   * at least one.
   */
  maxPerOwner?: number;
}

/** No sandbox thread became free in time. */
export class SandboxBusyError extends Error {
  constructor(threads: number, waitedMs: number) {
    super(`all ${threads} script sandboxes stayed busy for ${waitedMs} ms`);
    this.name = 'SandboxBusyError';
  }
}

interface Running {
  jobId: number;
  owner: string;
  onFetch: FetchHandler;
  resolve: (result: SandboxResult) => void;
  startedAt: number;
  killTimer: NodeJS.Timeout;
}

interface Thread {
  worker: Worker;
  running?: Running;
  stats: WorkerStats;
}

const WORKER_FILE = path.join(__dirname, 'sandbox-worker.js');

/**
 * Sandbox threads, started on demand and reused. A thread whose run overstays its deadline (QuickJS
 * stuck in C code where no interrupt check reaches) is terminated and replaced: the delivering
 * thread never waits on a script longer than timeout + grace.
 */
export class SandboxPool {
  private readonly threads = new Set<Thread>();
  private readonly idle: Thread[] = [];
  /** Runs waiting for a thread, oldest first; one whose owner is at its share is passed over. */
  private readonly queue: Array<{ owner: string; give: (thread: Thread) => void }> = [];
  /** Threads held per owner (taken when a thread is handed to a run, given back when the run finishes). */
  private readonly held = new Map<string, number>();
  private nextJobId = 1;
  private retired: WorkerStats = { runs: 0, liveRuntimes: 0, disposeFailures: 0, abandoned: 0 };

  constructor(readonly options: SandboxPoolOptions) {}

  /** Threads one owner may hold at once. */
  get share(): number {
    return this.options.maxPerOwner ?? Math.max(1, Math.floor(this.options.maxThreads / 2));
  }

  /**
   * Runs a job on a free thread, for `owner` (a subscription id: it holds at most `share` threads at once);
   * rejects only with SandboxBusyError.
   */
  async run(job: Omit<SandboxJob, 'jobId'>, onFetch: FetchHandler, owner = ''): Promise<SandboxResult> {
    const thread = await this.acquire(owner);
    const jobId = this.nextJobId++;
    return new Promise<SandboxResult>((resolve) => {
      const startedAt = Date.now();
      const killTimer = setTimeout(() => {
        this.finish(thread, { kind: 'killed', log: '', fetchCalls: 0, durationMs: Date.now() - startedAt });
        this.discard(thread);
      }, job.timeoutMs + this.options.killGraceMs);
      thread.running = { jobId, owner, onFetch, resolve, startedAt, killTimer };
      thread.worker.postMessage({ type: 'run', job: { ...job, jobId } } satisfies ToWorker);
    });
  }

  /** Threads, busy threads, waiting runs, and the threads' own bookkeeping summed. */
  stats(): { threads: number; busy: number; queued: number } & WorkerStats {
    const sum = { ...this.retired };
    for (const t of this.threads) {
      sum.runs += t.stats.runs;
      sum.liveRuntimes += t.stats.liveRuntimes;
      sum.disposeFailures += t.stats.disposeFailures;
      sum.abandoned += t.stats.abandoned;
    }
    const busy = [...this.threads].filter((t) => t.running).length;
    return { threads: this.threads.size, busy, queued: this.queue.length, ...sum };
  }

  /** Terminates every thread; runs in progress end as `crashed`. */
  async close(): Promise<void> {
    await Promise.all([...this.threads].map((t) => this.discard(t)));
  }

  private underShare(owner: string): boolean {
    return (this.held.get(owner) ?? 0) < this.share;
  }

  private take(owner: string, thread: Thread): Thread {
    this.held.set(owner, (this.held.get(owner) ?? 0) + 1);
    return thread;
  }

  private acquire(owner: string): Promise<Thread> {
    if (this.underShare(owner)) {
      const free = this.idle.pop();
      if (free) return Promise.resolve(this.take(owner, free));
      if (this.threads.size < this.options.maxThreads) return Promise.resolve(this.take(owner, this.spawn()));
    }
    return new Promise<Thread>((resolve, reject) => {
      const waiter = {
        owner,
        give: (thread: Thread) => {
          clearTimeout(timer);
          resolve(this.take(owner, thread));
        },
      };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        reject(new SandboxBusyError(this.options.maxThreads, this.options.queueTimeoutMs));
      }, this.options.queueTimeoutMs);
      this.queue.push(waiter);
    });
  }

  /** The oldest waiting run whose owner is under its share, taken off the queue. */
  private nextWaiter(): ((thread: Thread) => void) | undefined {
    const at = this.queue.findIndex((w) => this.underShare(w.owner));
    return at === -1 ? undefined : this.queue.splice(at, 1)[0].give;
  }

  /** Hands free threads (idle, or room to start one) to waiting runs whose owners are under their share. */
  private dispatch(): void {
    for (;;) {
      const hasThread = this.idle.length > 0 || this.threads.size < this.options.maxThreads;
      if (!hasThread) return;
      const next = this.nextWaiter();
      if (!next) return;
      next(this.idle.pop() ?? this.spawn());
    }
  }

  private release(thread: Thread): void {
    this.idle.push(thread);
    this.dispatch();
  }

  private spawn(): Thread {
    const worker = new Worker(WORKER_FILE, {
      workerData: { wasm: quickJsWasm() },
      env: {}, // the thread's own process.env is empty too; scripts cannot reach it anyway
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    worker.unref();
    const thread: Thread = { worker, stats: { runs: 0, liveRuntimes: 0, disposeFailures: 0, abandoned: 0 } };
    this.threads.add(thread);
    worker.on('message', (msg: FromWorker) => this.onMessage(thread, msg));
    const lost = (why: string) => {
      if (!this.threads.has(thread)) return;
      this.finish(thread, { kind: 'crashed', message: why, log: '', fetchCalls: 0, durationMs: 0 });
      void this.discard(thread);
    };
    worker.on('error', (err) => lost(`the sandbox thread failed: ${err.message}`));
    worker.on('exit', (code) => lost(`the sandbox thread exited with code ${code}`));
    return thread;
  }

  private onMessage(thread: Thread, msg: FromWorker): void {
    const running = thread.running;
    if (!running || msg.jobId !== running.jobId) return;
    if (msg.type === 'done') {
      thread.stats = msg.stats;
      this.finish(thread, msg.result);
      this.release(thread);
      return;
    }
    void running.onFetch(msg.request, msg.timeoutMs).then((reply) => {
      if (thread.running?.jobId === msg.jobId) {
        thread.worker.postMessage({ type: 'fetch-reply', jobId: msg.jobId, fetchId: msg.fetchId, reply } satisfies ToWorker);
      }
    });
  }

  private finish(thread: Thread, result: SandboxResult): void {
    const running = thread.running;
    if (!running) return;
    clearTimeout(running.killTimer);
    thread.running = undefined;
    const held = (this.held.get(running.owner) ?? 1) - 1;
    if (held > 0) this.held.set(running.owner, held);
    else this.held.delete(running.owner);
    running.resolve(result);
  }

  private async discard(thread: Thread): Promise<void> {
    if (!this.threads.delete(thread)) return;
    this.retired.runs += thread.stats.runs;
    this.retired.disposeFailures += thread.stats.disposeFailures;
    this.retired.abandoned += thread.stats.abandoned;
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    this.finish(thread, { kind: 'crashed', message: 'the sandbox thread was stopped', log: '', fetchCalls: 0, durationMs: 0 });
    await thread.worker.terminate();
    // a waiting run can use the place this thread left
    this.dispatch();
  }
}

let shared: SandboxPool | undefined;

/**
 * The process's pool: up to one thread per CPU (2 to 8), runs wait up to 60 s for a thread, one subscription
 * holds at most half of the threads.
 */
export function sharedSandboxPool(): SandboxPool {
  shared ??= new SandboxPool({
    maxThreads: Math.min(8, Math.max(2, os.availableParallelism())),
    queueTimeoutMs: 60_000,
    killGraceMs: 1_000,
  });
  return shared;
}
