/**
 * Compiled WebAssembly modules, once per worker process. Compiling the engine costs tens of
 * milliseconds and each function is compiled with TurboFan on its first call (wasm-tiering.ts); a compiled module is shareable with
 * worker threads, so every sandbox call gets a fresh instance (isolation) of code compiled once.
 * Keyed by the bytes' SHA-256, so a changed plugin file is compiled again.
 */
import { createHash } from 'node:crypto';
import { compileWasmOptimizedOnFirstCall } from './wasm-tiering.js';

/** What the project uses of the WebAssembly JS API (lib ES2022 and @types/node 20 declare none). */
export interface WasmCompiler {
  compile(bytes: Uint8Array): Promise<CompiledModule>;
}
/** A WebAssembly.Module: opaque here, structured-cloneable to worker threads. */
export type CompiledModule = object & { readonly __compiledWasm?: never };

const wasm = (globalThis as unknown as { WebAssembly: WasmCompiler }).WebAssembly;

/** Distinct modules kept; user plugins are few, the engine is one. */
const MAX_CACHED = 32;
const cache = new Map<string, Promise<CompiledModule>>();
let compilations = 0;

/** The compiled module for these bytes, compiled at most once per process (rejections are not kept). */
export function compiledModule(bytes: Uint8Array): Promise<CompiledModule> {
  const key = createHash('sha256').update(bytes).digest('hex');
  const hit = cache.get(key);
  if (hit) {
    // Refresh its place: the least recently used entry is the one evicted.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  compilations++;
  compileWasmOptimizedOnFirstCall();
  const compiled = wasm.compile(bytes);
  cache.set(key, compiled);
  compiled.catch(() => cache.delete(key));
  while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** How many compilations this process has started (for tests and the bench). */
export function compiledModuleCount(): number {
  return compilations;
}
