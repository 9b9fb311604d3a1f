import fs from 'node:fs';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';

/*
 * Loading QuickJS (compiled to WebAssembly) with a hard memory ceiling.
 *
 * `runtime.setMemoryLimit` alone is not a ceiling in the emscripten builds: QuickJS cannot read the size
 * of a block there, so large strings and typed arrays are never added to its running total and a
 * script under a "32 MB" limit can grow the heap to 2 GiB (quickjs-emscripten issues #255, #271).
 * A fixed-size WebAssembly.Memory cannot grow past its maximum: malloc fails and QuickJS throws its
 * own "out of memory". So every sandbox gets a fresh module over its own fixed memory.
 */

/** A compiled WebAssembly module, opaque here (the project's TypeScript lib has no WebAssembly types). */
export type CompiledWasm = { readonly __compiledWasm: unique symbol };

interface WasmApi {
  Module: new (bytes: Uint8Array) => CompiledWasm;
  Memory: new (descriptor: { initial: number; maximum: number }) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** True for a compiled WebAssembly module (as received from another thread). */
export function isCompiledWasm(value: unknown): value is CompiledWasm {
  return value instanceof (wasmApi.Module as unknown as new () => object);
}

const PAGE_BYTES = 65536;
/** What the module needs before any script runs (its static data, stack and initial heap): 16 MiB. */
const MODULE_BASE_BYTES = 16 * 1024 * 1024;

let compiled: CompiledWasm | undefined;

/** Uses code compiled by another thread (WebAssembly modules can be posted between threads). */
export function useCompiledWasm(wasm: CompiledWasm): void {
  compiled = wasm;
}

/** The QuickJS WebAssembly code, compiled once per thread (about 30 ms) and shared by every module. */
export function quickJsWasm(): CompiledWasm {
  compiled ??= new wasmApi.Module(fs.readFileSync(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')));
  return compiled;
}

/**
 * A fresh QuickJS module whose whole WebAssembly memory (module base included) can never exceed
 * `MODULE_BASE_BYTES + heapBytes`. Nothing is shared with any other module but the compiled code.
 */
export function newBoundedQuickJS(heapBytes: number, wasm: CompiledWasm = quickJsWasm()): Promise<QuickJSWASMModule> {
  const initial = MODULE_BASE_BYTES / PAGE_BYTES;
  const maximum = initial + Math.ceil(heapBytes / PAGE_BYTES);
  const quiet = () => undefined; // emscripten's own stderr notes (e.g. an abort) are not ours to print
  return newQuickJSWASMModuleFromVariant(
    newVariant(variant, {
      wasmModule: wasm as never,
      wasmMemory: new wasmApi.Memory({ initial, maximum }) as never,
      emscriptenModule: { print: quiet, printErr: quiet } as never,
    }),
  );
}
