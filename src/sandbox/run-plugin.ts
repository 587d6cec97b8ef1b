/**
 * Runs one function of an untrusted Extism plugin under limits the host enforces itself
 * (@extism/extism 1.0.3 has no timeout, fuel or memory limit of its own):
 *
 * 1. Before anything runs, the binary is read (wasm-module-info.ts): it must be a WebAssembly
 *    core module; every import must be an allow-listed, I/O-free Extism kernel function
 *    (limits.ts); it must define its own memory (not import one) with a declared maximum of at
 *    most `maxMemoryBytes`, tables with a bounded maximum, and export the function to call.
 * 2. The module is compiled once per process (compiled-module.ts) and the call runs in a fresh
 *    worker thread (sandbox-worker.ts) on a fresh instance of it, created with no
 *    WASI, no network, no paths, and kernel overrides counting host-side bytes against
 *    `maxHostBytes`.
 * 3. The parent races the worker's reply against a deadline; at the deadline it terminates the
 *    worker (never waiting for the plugin) and reports how long the worker took to stop.
 * 4. The worker is always terminated, whatever happened, before runPlugin settles.
 */
import { PluginReportedError, SandboxForbiddenImportError, SandboxInvalidModuleError, SandboxMemoryError, SandboxTrapError } from '../errors/index.js';
import { runSandboxThread } from './sandbox-thread.js';
import { forbiddenImportReason, resolveSandboxLimits, WASM_PAGE_BYTES, type SandboxLimits } from './limits.js';
import type { SandboxFailure, SandboxWorkerReply, SandboxWorkerRequest } from './sandbox-worker.js';

/** = SANDBOX_WORKER_TAG in sandbox-worker.ts (not imported: that module is the worker's entry). */
const SANDBOX_WORKER_TAG = 'modelship-sandbox-call/1';
import { parseWasmModuleInfo, WasmParseError, type WasmModuleInfo } from './wasm-module-info.js';
import { compiledModule, type CompiledModule } from './compiled-module.js';

const WORKER_URL = new URL('./sandbox-worker.js', import.meta.url);

/** Largest table (in elements) a module may declare; tables hold host-side references. */
export const MAX_TABLE_ELEMENTS = 1 << 20;

/**
 * The worker's V8 heap limits. They bound the JavaScript objects the kernel creates (block
 * records, variable keys), not linear memory or ArrayBuffers, which the checks above cover.
 */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

export interface PluginCheck {
  readonly info: WasmModuleInfo;
  /** The module's declared linear-memory maximum in bytes (0 when it defines no memory). */
  readonly linearLimitBytes: number;
}

/**
 * The pre-instantiation checks of runPlugin, on their own: throws SandboxInvalidModuleError or
 * SandboxForbiddenImportError, or returns what was learnt about the module.
 */
export function checkPlugin(wasm: Uint8Array, functionName: string, limits: Partial<SandboxLimits> = {}): PluginCheck {
  const { maxMemoryBytes } = resolveSandboxLimits(limits);
  let info: WasmModuleInfo;
  try {
    info = parseWasmModuleInfo(wasm);
  } catch (err) {
    if (err instanceof WasmParseError) throw new SandboxInvalidModuleError(functionName, err.message, { cause: err });
    throw err;
  }

  for (const imp of info.imports) {
    if (imp.kind === 'memory') {
      throw new SandboxInvalidModuleError(
        functionName,
        `the module imports its memory ("${imp.module}"."${imp.field}"); it must define its own, with a maximum`,
      );
    }
    const reason = forbiddenImportReason(imp.module, imp.field, imp.kind);
    if (reason !== null) throw new SandboxForbiddenImportError(functionName, imp.module, imp.field, imp.kind, reason);
  }

  const limitPages = Math.floor(maxMemoryBytes / WASM_PAGE_BYTES);
  if (info.memories.length > 1) {
    throw new SandboxInvalidModuleError(functionName, `the module defines ${info.memories.length} memories; the sandbox runs modules with one`);
  }
  let linearLimitBytes = 0;
  const memory = info.memories[0];
  if (memory !== undefined) {
    if (memory.index64) {
      throw new SandboxInvalidModuleError(functionName, 'the module defines a 64-bit memory, which the sandbox does not run');
    }
    if (memory.max === null) {
      throw new SandboxInvalidModuleError(
        functionName,
        `the module's memory declares no maximum (minimum ${memory.min} pages), so nothing would stop it growing to 4 GiB; ` +
          `build it with a maximum of at most ${limitPages} pages of 64 KiB (e.g. asc --maximumMemory ${limitPages})`,
      );
    }
    if (memory.max > limitPages) {
      throw new SandboxInvalidModuleError(
        functionName,
        `the module's memory declares a maximum of ${memory.max} pages (${memory.max * WASM_PAGE_BYTES} bytes), ` +
          `above the sandbox limit of ${limitPages} pages (maxMemoryBytes ${maxMemoryBytes})`,
      );
    }
    linearLimitBytes = memory.max * WASM_PAGE_BYTES;
  }

  for (const [i, table] of info.tables.entries()) {
    if (table.max === null || table.max > MAX_TABLE_ELEMENTS) {
      throw new SandboxInvalidModuleError(
        functionName,
        `table ${i} declares ${table.max === null ? 'no maximum' : `a maximum of ${table.max} elements`}; ` +
          `the sandbox needs one of at most ${MAX_TABLE_ELEMENTS}`,
      );
    }
  }

  if (!info.exports.some((e) => e.kind === 'function' && e.name === functionName)) {
    const functions = info.exports.filter((e) => e.kind === 'function').map((e) => e.name);
    throw new SandboxInvalidModuleError(
      functionName,
      `the module exports no function named "${functionName}" (it exports: ${functions.join(', ') || 'none'})`,
    );
  }
  return { info, linearLimitBytes };
}

export { sandboxWorkerCounts } from './sandbox-thread.js';

/**
 * Calls `functionName` of the plugin `wasm` with `input` and returns its output, or throws one
 * of the sandbox errors (src/errors/sandbox.ts). Limits default to DEFAULT_SANDBOX_LIMITS.
 */
export async function runPlugin(
  wasm: Uint8Array,
  functionName: string,
  input: Uint8Array,
  limits?: Partial<SandboxLimits>,
): Promise<Uint8Array> {
  const resolved = resolveSandboxLimits(limits);
  const { linearLimitBytes } = checkPlugin(wasm, functionName, resolved);
  let module: CompiledModule;
  try {
    module = await compiledModule(wasm);
  } catch (err) {
    throw new SandboxInvalidModuleError(functionName, `not valid WebAssembly: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  // Exact-size copies (`new Uint8Array(view)` copies; Buffer#slice would not): a view's whole
  // underlying buffer would otherwise travel, a pooled Buffer's neighbours would become part of
  // the plugin's input, and transferring it would detach the caller's memory.
  const request: SandboxWorkerRequest = {
    tag: SANDBOX_WORKER_TAG,
    module,
    functionName,
    input: new Uint8Array(input),
    maxHostBytes: resolved.maxHostBytes,
    linearLimitBytes,
  };
  const reply = await runSandboxThread({
    workerUrl: WORKER_URL,
    workerData: request,
    transferList: [request.input.buffer as ArrayBuffer],
    timeoutMs: resolved.timeoutMs,
    resourceLimits: WORKER_RESOURCE_LIMITS,
    functionName,
  });
  return fromReply(functionName, reply);
}

function fromReply(functionName: string, value: unknown): Uint8Array {
  const reply = value as SandboxWorkerReply | null;
  if (reply !== null && typeof reply === 'object' && reply.ok === true && reply.output instanceof Uint8Array) {
    return reply.output;
  }
  if (reply === null || typeof reply !== 'object' || reply.ok !== false || typeof reply.failure !== 'object') {
    throw new SandboxTrapError(functionName, 'its sandbox worker sent a malformed reply');
  }
  throw errorFor(functionName, reply.failure);
}

function errorFor(functionName: string, failure: SandboxFailure): Error {
  switch (failure.kind) {
    case 'plugin-error':
      return new PluginReportedError(functionName, failure.message);
    case 'memory':
      return new SandboxMemoryError(functionName, failure.resource, failure.reason, failure.limitBytes, failure.usedBytes);
    case 'trap':
      return new SandboxTrapError(functionName, failure.trap);
    case 'invalid-module':
      return new SandboxInvalidModuleError(functionName, failure.reason);
    case 'forbidden-import':
      return new SandboxForbiddenImportError(functionName, failure.module, failure.field, failure.importKind, failure.reason);
    default:
      return new SandboxTrapError(functionName, 'its sandbox worker sent an unknown failure');
  }
}
