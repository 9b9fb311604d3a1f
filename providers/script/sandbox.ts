import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { ConsoleLog } from './console-log';
import { PRELUDE } from './prelude';
import type { SandboxEnd, SandboxFetchReply, SandboxFetchRequest, SandboxJob, SandboxResult, WorkerStats } from './protocol';
import { newBoundedQuickJS } from './quickjs';

/** Asks the delivering thread to make a request; resolves with the reply for the script. */
export type HostFetch = (request: SandboxFetchRequest, timeoutMs: number) => Promise<SandboxFetchReply>;

const stats: WorkerStats = { runs: 0, liveRuntimes: 0, disposeFailures: 0, abandoned: 0 };

/** This thread's bookkeeping (a copy). */
export function sandboxStats(): WorkerStats {
  return { ...stats };
}

let spare: { heapBytes: number; module: Promise<QuickJSWASMModule> } | undefined;

/**
 * A module no script has touched. Each run gets its own, so nothing of an earlier run (not even freed
 * memory holding another subscription's secrets) is reachable even through a QuickJS bug. The next one
 * is made while the thread waits for work, which hides most of its ~15 ms start-up.
 */
function freshModule(heapBytes: number): Promise<QuickJSWASMModule> {
  const ready = spare?.heapBytes === heapBytes ? spare.module : newBoundedQuickJS(heapBytes);
  spare = undefined;
  return ready;
}

/** Prepares the module for the next run, assuming it has the same memory limit as the last one. */
function prepareSpare(heapBytes: number): void {
  const module = newBoundedQuickJS(heapBytes);
  module.catch(() => undefined); // a failed spare is replaced on use
  spare = { heapBytes, module };
}

/** Raised inside a run to end it early with a known outcome. */
class Stop {
  constructor(readonly end: SandboxEnd) {}
}

/**
 * Runs one script in a fresh QuickJS module over its own bounded memory, with an interrupt handler
 * enforcing the deadline while it computes and a host-side deadline while it waits for fetches.
 * Never throws: every way a run can end is a SandboxEnd. Everything is disposed before it returns.
 */
export async function runInSandbox(job: SandboxJob, hostFetch: HostFetch): Promise<SandboxResult> {
  const startedAt = Date.now();
  const log = new ConsoleLog(job.maxLogChars);
  let fetchCalls = 0;
  const finish = (end: SandboxEnd): SandboxResult => ({ ...end, log: log.text(), fetchCalls, durationMs: Date.now() - startedAt });
  stats.runs++;

  let rt: QuickJSRuntime;
  let ctx: QuickJSContext;
  try {
    const qjs = await freshModule(job.memoryLimitBytes);
    rt = qjs.newRuntime();
    stats.liveRuntimes++;
    ctx = rt.newContext();
  } catch (err) {
    return finish({ kind: 'crashed', message: `the sandbox could not start: ${err instanceof Error ? err.message : String(err)}` });
  }

  const deadline = Date.now() + job.timeoutMs;
  let interrupted = false;
  rt.setMemoryLimit(job.memoryLimitBytes); // counts small objects; the bounded memory catches the rest
  rt.setMaxStackSize(job.maxStackBytes);
  rt.setInterruptHandler(() => (interrupted ||= Date.now() > deadline));

  const owned: QuickJSHandle[] = [];
  const deferreds = new Set<QuickJSDeferredPromise>();
  let settled: string | undefined;
  let wake: (() => void) | undefined;
  let disposed = false;
  let abandoned = false;

  const hostLog = ctx.newFunction('log', (level, message) => {
    log.add(ctx.getString(level), ctx.getString(message));
  });
  const settle = ctx.newFunction('settle', (json) => {
    settled = ctx.getString(json);
  });
  const fetchFn = ctx.newFunction('fetch', (requestJson) => {
    const deferred = ctx.newPromise();
    deferreds.add(deferred);
    const request = JSON.parse(ctx.getString(requestJson)) as SandboxFetchRequest;
    const reply: Promise<SandboxFetchReply> =
      fetchCalls >= job.maxFetchCalls
        ? Promise.resolve({ ok: false, code: 'fetch_limit', permanent: true, message: `fetch limit reached: at most ${job.maxFetchCalls} calls per delivery` })
        : hostFetch(request, Math.max(1, deadline - Date.now()));
    fetchCalls++;
    const sentAt = Date.now();
    void reply.then((r) => {
      if (disposed) return;
      log.note(`fetch ${request.method} ${request.url} -> ${r.ok ? r.response.status : r.code} in ${Date.now() - sentAt} ms`);
      const value = ctx.newString(JSON.stringify(r));
      deferred.resolve(value);
      value.dispose();
      deferreds.delete(deferred);
      wake?.();
    });
    return deferred.handle;
  });
  owned.push(hostLog, settle, fetchFn);

  try {
    const factory = take(ctx, ctx.evalCode(PRELUDE, 'prelude.js'), owned);
    const start = take(ctx, ctx.callFunction(factory, ctx.undefined, hostLog, fetchFn, settle), owned);

    const loaded = ctx.evalCode(job.code, job.filename);
    if (loaded.error) throw new Stop(classify(ctx, loaded.error, interrupted, 'load'));
    loaded.value.dispose();
    const deliver = take(ctx, ctx.evalCode('typeof deliver === "function" ? deliver : undefined', 'lookup.js'), owned);
    if (ctx.typeof(deliver) !== 'function') throw new Stop({ kind: 'no-deliver' });

    const input = ctx.newString(job.input);
    owned.push(input);
    const started = ctx.callFunction(start, ctx.undefined, deliver, input);
    if (started.error) throw new Stop(classify(ctx, started.error, interrupted, 'deliver'));
    started.value.dispose();

    // Pump: run the script's jobs, then wait for a fetch to come back, until deliver() settles.
    for (;;) {
      const ran = rt.executePendingJobs();
      if (ran.error) throw new Stop(classify(ctx, ran.error, interrupted, 'deliver'));
      // an async function turns even "interrupted" into a rejection: the flag decides
      if (interrupted) throw new Stop({ kind: 'timeout', waiting: false });
      if (settled !== undefined) return finish(parseSettled(settled));
      if (deferreds.size === 0) throw new Stop({ kind: 'never-settled' });
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Stop({ kind: 'timeout', waiting: true });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        wake = () => (clearTimeout(timer), resolve());
      });
      wake = undefined;
    }
  } catch (err) {
    if (err instanceof Stop) return finish(err.end);
    // QuickJS stopped half-way through C code (its heap may be inconsistent): never touch it again.
    abandoned = true;
    // A RangeError here is the host's own stack running out inside QuickJS's C code.
    if (err instanceof RangeError) return finish({ kind: 'stack' });
    return finish({ kind: 'crashed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    disposed = true;
    if (abandoned) {
      stats.liveRuntimes--;
      stats.abandoned++;
    } else {
      dispose(rt, ctx, owned, deferreds);
    }
    setImmediate(() => prepareSpare(job.memoryLimitBytes)); // after the result is posted
  }
}

/** Unwraps an eval/call result, keeping the value for disposal; a failure ends the run. */
function take(ctx: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>, owned: QuickJSHandle[]): QuickJSHandle {
  if (result.error) throw new Stop(classify(ctx, result.error, false, 'load'));
  owned.push(result.value);
  return result.value;
}

/** What an exception that escaped to the host means. Disposes the handle. */
function classify(ctx: QuickJSContext, error: QuickJSHandle, interrupted: boolean, phase: 'load' | 'deliver'): SandboxEnd {
  try {
    if (interrupted) return { kind: 'timeout', waiting: false };
    const name = readString(ctx, error, 'name') ?? 'Error';
    const message = readString(ctx, error, 'message') ?? (ctx.typeof(error) === 'string' ? ctx.getString(error) : '');
    const engine = engineLimit(name, message);
    if (engine) return engine;
    const line = Number(/:(\d+)\)?\s*$/m.exec(readString(ctx, error, 'stack') ?? '')?.[1]);
    const permanent = phase === 'load' || readBoolean(ctx, error, 'permanent');
    return { kind: 'threw', phase, name, message, permanent, ...(line ? { line } : {}) };
  } finally {
    error.dispose();
  }
}

/** QuickJS's own limit errors, whether they escaped or were caught by an async function. */
function engineLimit(name: string, message: string): SandboxEnd | undefined {
  if (name !== 'InternalError') return undefined;
  if (message === 'interrupted') return { kind: 'timeout', waiting: false };
  if (message === 'out of memory') return { kind: 'memory' };
  if (message === 'stack overflow') return { kind: 'stack' };
  return undefined;
}

function readString(ctx: QuickJSContext, obj: QuickJSHandle, key: string): string | undefined {
  if (ctx.typeof(obj) !== 'object') return undefined;
  const v = ctx.getProp(obj, key);
  try {
    return ctx.typeof(v) === 'string' ? ctx.getString(v) : undefined;
  } finally {
    v.dispose();
  }
}

function readBoolean(ctx: QuickJSContext, obj: QuickJSHandle, key: string): boolean {
  if (ctx.typeof(obj) !== 'object') return false;
  const v = ctx.getProp(obj, key);
  try {
    return ctx.typeof(v) === 'boolean' && ctx.dump(v) === true;
  } finally {
    v.dispose();
  }
}

/** The prelude's report, checked field by field (the script could have bent what it produced). */
function parseSettled(json: string): SandboxEnd {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return { kind: 'crashed', message: 'the sandbox reported an unreadable result' };
  }
  const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : undefined);
  if (r.kind === 'returned') {
    const externalId = str(r.externalId, 200);
    return { kind: 'returned', ...(externalId ? { externalId, externalIdTruncated: r.externalIdTruncated === true } : {}) };
  }
  const retryAfterMs = typeof r.retryAfterMs === 'number' && Number.isFinite(r.retryAfterMs) ? r.retryAfterMs : undefined;
  const line = typeof r.line === 'number' && Number.isInteger(r.line) ? r.line : undefined;
  const name = str(r.name, 100) ?? 'Error';
  const message = str(r.message, 2000) ?? '';
  const engine = engineLimit(name, message);
  if (engine) return engine;
  return {
    kind: 'threw',
    phase: 'deliver',
    name,
    message,
    permanent: r.permanent === true,
    ...(str(r.code, 60) ? { code: str(r.code, 60) } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(r.pauseSubscription === true ? { pauseSubscription: true } : {}),
  };
}

/** Frees every handle, then the context and runtime. After an abort the module is simply dropped. */
function dispose(rt: QuickJSRuntime, ctx: QuickJSContext, owned: QuickJSHandle[], deferreds: Set<QuickJSDeferredPromise>): void {
  try {
    for (const d of deferreds) d.dispose();
    for (const h of owned) if (h.alive) h.dispose();
    ctx.dispose();
    rt.dispose();
    stats.liveRuntimes--;
  } catch {
    stats.disposeFailures++;
    stats.liveRuntimes--; // unreachable now: the module and its memory go with the last reference
  }
}
