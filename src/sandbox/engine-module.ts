/**
 * The sandbox engine's WebAssembly, checked and compiled once per worker process: its bytes
 * and its loader's must have the SHA-256 recorded for the pinned version, onnxruntime-web and
 * onnxruntime-node must both be that version, and the module's imports must be exactly the
 * recorded set. Only then is it compiled; every call instantiates it afresh in its own thread.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENGINE_CALL, SandboxInvalidModuleError } from '../errors/index.js';
import {
  ENGINE_FUNCTION_IMPORTS,
  ENGINE_IMPORT_MODULE,
  ENGINE_LOADER_FILE,
  ENGINE_LOADER_SHA256,
  ENGINE_MEMORY_IMPORT,
  ENGINE_VERSION,
  ENGINE_WASM_FILE,
  ENGINE_WASM_SHA256,
} from './engine-pin.js';
import type { CompiledModule } from './compiled-module.js';
import { compileWasmOptimizedOnFirstCall } from './wasm-tiering.js';

const require = createRequire(import.meta.url);

/** The folder of the installed onnxruntime-web build (its dist/). */
export const DEFAULT_ENGINE_DIR: string = dirname(require.resolve(`onnxruntime-web/${ENGINE_WASM_FILE}`));

export interface EngineModule {
  readonly module: CompiledModule;
  /** The loader to import in the engine's thread (a file URL). */
  readonly loaderUrl: string;
  readonly version: string;
  readonly wasmSha256: string;
}

interface WasmReflection {
  compile(bytes: Uint8Array): Promise<CompiledModule>;
  Module: { imports(module: CompiledModule): { module: string; name: string; kind: string }[] };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmReflection }).WebAssembly;

function refuse(reason: string): never {
  throw new SandboxInvalidModuleError(ENGINE_CALL, reason);
}

async function packageVersion(packageJson: string, name: string): Promise<string> {
  const parsed = JSON.parse(await readFile(packageJson, 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') refuse(`${name}'s package.json (${packageJson}) has no version`);
  return parsed.version;
}

/** The import list check on its own: exactly the recorded functions and one memory, from one module. */
export function engineImportProblem(imports: readonly { module: string; name: string; kind: string }[]): string | null {
  const expected = new Set(ENGINE_FUNCTION_IMPORTS);
  let memories = 0;
  for (const imp of imports) {
    if (imp.module !== ENGINE_IMPORT_MODULE) return `it imports "${imp.module}"."${imp.name}" (${imp.kind}), outside the recorded import module "${ENGINE_IMPORT_MODULE}"`;
    if (imp.kind === 'memory' && imp.name === ENGINE_MEMORY_IMPORT) {
      memories++;
      continue;
    }
    if (imp.kind !== 'function' || !expected.delete(imp.name)) return `it imports ${imp.kind} "${imp.module}"."${imp.name}", which is not in the recorded import list`;
  }
  if (memories !== 1) return `it imports ${memories} memories; the recorded build imports one`;
  if (expected.size > 0) return `it lacks ${expected.size} of the recorded imports (${[...expected].slice(0, 5).join(', ')})`;
  return null;
}

/** Verifies the engine in `dir` (see the module comment) and compiles it; throws SandboxInvalidModuleError. */
export async function verifyAndCompileEngine(dir: string): Promise<EngineModule> {
  const wasmPath = join(dir, ENGINE_WASM_FILE);
  const loaderPath = join(dir, ENGINE_LOADER_FILE);
  const [bytes, loader] = await Promise.all([
    readFile(wasmPath).catch((err: NodeJS.ErrnoException) => refuse(`cannot read ${wasmPath}: ${err.message} (reinstall with npm ci)`)),
    readFile(loaderPath).catch((err: NodeJS.ErrnoException) => refuse(`cannot read ${loaderPath}: ${err.message} (reinstall with npm ci)`)),
  ]);
  const webVersion = await packageVersion(join(dir, '..', 'package.json'), 'onnxruntime-web');
  const nativeVersion = await packageVersion(require.resolve('onnxruntime-node/package.json'), 'onnxruntime-node');
  if (webVersion !== ENGINE_VERSION || nativeVersion !== ENGINE_VERSION) {
    refuse(`onnxruntime-web ${webVersion} and onnxruntime-node ${nativeVersion} are installed; the sandbox is pinned to ${ENGINE_VERSION} for both (npm ci)`);
  }
  const wasmSha256 = createHash('sha256').update(bytes).digest('hex');
  if (wasmSha256 !== ENGINE_WASM_SHA256) {
    refuse(`${wasmPath} has SHA-256 ${wasmSha256}, not the ${ENGINE_WASM_SHA256} recorded for onnxruntime-web ${ENGINE_VERSION}; it was changed after install (npm ci restores it)`);
  }
  const loaderSha256 = createHash('sha256').update(loader).digest('hex');
  if (loaderSha256 !== ENGINE_LOADER_SHA256) {
    refuse(`${loaderPath} has SHA-256 ${loaderSha256}, not the ${ENGINE_LOADER_SHA256} recorded for onnxruntime-web ${ENGINE_VERSION}; it was changed after install (npm ci restores it)`);
  }
  compileWasmOptimizedOnFirstCall();
  const module = await wasm.compile(bytes).catch((err: unknown) => refuse(`${wasmPath} does not compile: ${err instanceof Error ? err.message : String(err)}`));
  const problem = engineImportProblem(wasm.Module.imports(module));
  if (problem !== null) refuse(`${wasmPath}: ${problem}`);
  return { module, loaderUrl: pathToFileURL(loaderPath).href, version: ENGINE_VERSION, wasmSha256 };
}

const engines = new Map<string, Promise<EngineModule>>();
let compilations = 0;

/** The verified, compiled engine of `dir` (default: the installed one), once per process; failures are not kept. */
export function loadEngine(dir: string = DEFAULT_ENGINE_DIR): Promise<EngineModule> {
  let engine = engines.get(dir);
  if (engine === undefined) {
    compilations++;
    engine = verifyAndCompileEngine(dir);
    engines.set(dir, engine);
    engine.catch(() => engines.delete(dir));
  }
  return engine;
}

/** How many times this process has verified and compiled an engine (for tests and the bench). */
export function engineCompilationCount(): number {
  return compilations;
}
