import v8 from 'node:v8';

/**
 * Bounds the JavaScript heaps the worker process creates from now on (the Temporal Workers' workflow threads, one
 * per Worker) to `mb` of old space, as `--max-old-space-size` would: V8 reads the flag when a heap is set up, so it
 * must run before the Workers are created. Without it each workflow thread may grow to V8's default limit (about
 * 4 GB on a machine with 16 GB or more) before it collects hard: the starvation test once saw the worker at 2.9 GB.
 * The main thread's heap was set up at the process start: it is bounded by the same flag given to `node` (the
 * launchers give it; `mainHeapLimitMb` tells what it got).
 */
export function boundNewHeaps(mb: number): void {
  v8.setFlagsFromString(`--max-old-space-size=${mb}`);
}

/** The main thread's heap limit (MB): V8's `heap_size_limit` (old space plus young space). */
export function mainHeapLimitMb(): number {
  return Math.round(v8.getHeapStatistics().heap_size_limit / (1024 * 1024));
}

/** The default of WORKER_HEAP_MB. */
export const DEFAULT_WORKER_HEAP_MB = 768;

/** The `node` option that gives a worker process's main thread the same bound (`config.workerHeapMb`; for launchers). */
export function workerExecArgv(mb: number): string[] {
  return [`--max-old-space-size=${mb}`];
}
