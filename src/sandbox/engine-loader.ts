/**
 * The emscripten factory onnxruntime-web is given in the engine's thread (as `wasmPaths.mjs`):
 * it calls the pinned loader with the host's own `instantiateWasm`, so the module compiled and
 * checked by the parent is what runs, instantiated afresh, on the memory the host created, and
 * only after the loader's import object matches the recorded list exactly.
 */
import { engineImportProblem } from './engine-module.js';
import type { CompiledModule } from './compiled-module.js';

export interface EngineLoaderConfig {
  readonly module: CompiledModule;
  readonly loaderUrl: string;
  /** The memory the host created for this call (the import the module must be given). */
  readonly memory: () => object | undefined;
}

interface Instantiator {
  Instance: new (module: CompiledModule, imports: object) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: Instantiator }).WebAssembly;

let config: EngineLoaderConfig | undefined;

/** Set once by the engine's thread before onnxruntime-web initialises. */
export function configureEngineLoader(value: EngineLoaderConfig): void {
  config = value;
}

type Factory = (moduleArg: Record<string, unknown>) => Promise<unknown>;

export default async function engineFactory(moduleArg: Record<string, unknown>): Promise<unknown> {
  const current = config;
  if (current === undefined) throw new Error('the sandbox engine loader was used before it was configured');
  const loader = (await import(current.loaderUrl)) as { default: Factory };
  return loader.default({
    ...moduleArg,
    instantiateWasm(imports: Record<string, Record<string, unknown>>, done: (instance: object, module: CompiledModule) => void): object {
      const given = Object.entries(imports).flatMap(([module, fields]) =>
        Object.entries(fields).map(([name, value]) => ({ module, name, kind: typeof value === 'function' ? 'function' : 'memory' })),
      );
      const problem = engineImportProblem(given);
      if (problem !== null) throw new Error(`the engine loader offered other imports than recorded: ${problem}`);
      const memory = Object.values(imports)[0]?.['a'];
      if (memory === undefined || memory !== current.memory()) throw new Error('the engine loader did not give the module the memory the host created');
      done(new wasm.Instance(current.module, imports), current.module);
      return {};
    },
  });
}
