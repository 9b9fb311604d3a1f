/*
 * Messages between the delivering thread and a sandbox worker thread. Only plain data crosses:
 * the script runs in the worker, its fetch calls come back here to go through the guarded client.
 */

/** One script run, as the sandbox worker receives it. */
export interface SandboxJob {
  jobId: number;
  /** JavaScript (TypeScript already transpiled). */
  code: string;
  /** File name in QuickJS error positions, e.g. `script.js`. */
  filename: string;
  /** JSON of `{ event, secrets }`, parsed inside the sandbox. */
  input: string;
  /** Wall-clock budget of the run, from its first instruction. */
  timeoutMs: number;
  /** Heap ceiling of the sandbox (the WebAssembly memory above the module's base). */
  memoryLimitBytes: number;
  maxStackBytes: number;
  maxFetchCalls: number;
  /** Console output kept, in characters; the rest is counted and dropped. */
  maxLogChars: number;
}

/** A fetch as the script asked for it (checked again on the delivering thread). */
export interface SandboxFetchRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** What a sandbox fetch resolves with: a response, or the reason there is none. */
export type SandboxFetchReply =
  | { ok: true; response: { status: number; headers: Record<string, string>; body: string } }
  | { ok: false; code: string; message: string; permanent: boolean };

/** How a run ended. */
export type SandboxEnd =
  /** deliver() returned (or its promise fulfilled). */
  | { kind: 'returned'; externalId?: string; externalIdTruncated?: boolean }
  /** deliver() or the script's top-level code threw (or rejected). */
  | {
      kind: 'threw';
      phase: 'load' | 'deliver';
      name: string;
      message: string;
      code?: string;
      line?: number;
      permanent: boolean;
      retryAfterMs?: number;
      pauseSubscription?: boolean;
    }
  /** The script defines no function `deliver`. */
  | { kind: 'no-deliver' }
  /** Out of time: computing (the interrupt handler stopped it) or waiting for a fetch. */
  | { kind: 'timeout'; waiting: boolean }
  /** The sandbox did not answer in time and its thread was terminated. */
  | { kind: 'killed' }
  | { kind: 'memory' }
  | { kind: 'stack' }
  /** deliver()'s promise is pending with nothing left that could settle it. */
  | { kind: 'never-settled' }
  /** The sandbox itself failed (not the script): worth another try. */
  | { kind: 'crashed'; message: string };

/** A finished run: how it ended, the console output, and what it cost. */
export type SandboxResult = SandboxEnd & { log: string; fetchCalls: number; durationMs: number };

export type ToWorker =
  | { type: 'run'; job: SandboxJob }
  | { type: 'fetch-reply'; jobId: number; fetchId: number; reply: SandboxFetchReply };

export type FromWorker =
  | { type: 'fetch'; jobId: number; fetchId: number; request: SandboxFetchRequest; timeoutMs: number }
  | { type: 'done'; jobId: number; result: SandboxResult; stats: WorkerStats };

/** Bookkeeping of one sandbox thread, for leak checks. */
export interface WorkerStats {
  runs: number;
  /** Runtimes created and not disposed (0 between runs unless a disposal failed). */
  liveRuntimes: number;
  /** Disposals that failed (QuickJS aborted on a limit); the module is dropped whole then. */
  disposeFailures: number;
  /** Runs whose module was dropped without disposal (the host stack ran out inside QuickJS). */
  abandoned: number;
}
