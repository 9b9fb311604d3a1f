import type { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { newBoundedQuickJS } from './quickjs';

/*
 * Compiling a script in QuickJS (without running it) at save time, on the calling thread. Saving is
 * synchronous (validateConfig), loading QuickJS is not: the module is loaded when this file is first
 * imported, and until it is ready (tens of milliseconds after start) the TypeScript parser's check
 * stands alone. A compile that breaks the module (the host stack running out in QuickJS's parser)
 * drops it and loads a fresh one.
 */

const COMPILE_HEAP_BYTES = 32 * 1024 * 1024;
const COMPILE_STACK_BYTES = 256 * 1024;
const COMPILE_TIMEOUT_MS = 2_000;

let checker: QuickJSWASMModule | undefined;
let loading: Promise<void> | undefined;

/** Starts loading the checker's module; resolves when it is ready (or failed to load, to be tried again). */
export function preloadCompileChecker(): Promise<void> {
  loading ??= newBoundedQuickJS(COMPILE_HEAP_BYTES).then(
    (m) => {
      checker = m;
    },
    () => {
      loading = undefined;
    },
  );
  return loading;
}

/** A compile error reported by QuickJS; `line` is 1-based when known. */
export interface CompileError {
  message: string;
  line?: number;
}

/**
 * Compiles `code` as a global script. Undefined when it compiles, a CompileError when it does not,
 * `null` when the checker is not loaded yet.
 */
export function quickJsCompileError(code: string, filename: string): CompileError | undefined | null {
  const m = checker;
  if (!m) {
    void preloadCompileChecker();
    return null;
  }
  const deadline = Date.now() + COMPILE_TIMEOUT_MS;
  try {
    const rt = m.newRuntime();
    try {
      rt.setMemoryLimit(COMPILE_HEAP_BYTES);
      rt.setMaxStackSize(COMPILE_STACK_BYTES);
      rt.setInterruptHandler(() => Date.now() > deadline);
      const ctx = rt.newContext();
      try {
        const result = ctx.evalCode(code, filename, { compileOnly: true });
        if (!result.error) {
          result.value.dispose();
          return undefined;
        }
        const e = result.error;
        try {
          const info = ctx.dump(e) as { name?: unknown; message?: unknown; lineNumber?: unknown } | null;
          const name = typeof info?.name === 'string' ? info.name : 'SyntaxError';
          const message = typeof info?.message === 'string' ? info.message : 'the script does not compile';
          if (name === 'InternalError' && message === 'stack overflow') return { message: 'the script is nested too deeply to be compiled' };
          if (name === 'InternalError' && message === 'out of memory') return { message: 'the script is too large to be compiled' };
          const line = typeof info?.lineNumber === 'number' ? info.lineNumber : undefined;
          return { message: `${name}: ${message}`, ...(line !== undefined ? { line } : {}) };
        } finally {
          e.dispose();
        }
      } finally {
        ctx.dispose();
      }
    } finally {
      rt.dispose();
    }
  } catch (err) {
    // the module's state is unknown after a host-level failure: replace it
    checker = undefined;
    loading = undefined;
    void preloadCompileChecker();
    return { message: err instanceof RangeError ? 'the script is nested too deeply to be compiled' : 'the script could not be compiled' };
  }
}
