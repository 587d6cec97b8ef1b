/**
 * How V8 compiles the sandbox engine's WebAssembly in this process. By default V8 compiles every
 * function with its baseline compiler (Liftoff) and recompiles the hot ones with TurboFan later,
 * in the background. onnxruntime-web's kernels stayed on baseline code for many calls: one model
 * called again and again in one process took 8-10 calls to reach its steady speed (nudenet 2.3 s,
 * then 0.2 s), and smoke calls each model once per release, so most calls ran half-compiled code
 * while the compiler competed for the same cores. Here each function is compiled once, with
 * TurboFan, the first time any instance calls it; the code is the process's (shared by every
 * fresh instance), so each later call runs at full speed from its first run. The price is paid
 * once per function per process, on the first call that needs it.
 *
 * V8's flags are process-wide and apply to modules compiled after they are set, so this runs
 * before the engine or a plugin is compiled (engine-module.ts, compiled-module.ts), and every
 * module the process compiles gets the same treatment.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Idempotent: the first call sets the flags. */
export function compileWasmOptimizedOnFirstCall(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-liftoff');
  setFlagsFromString('--wasm-lazy-compilation');
}
