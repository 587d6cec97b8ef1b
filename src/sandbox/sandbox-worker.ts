/**
 * The worker thread that runs ONE plugin call for runPlugin (run-plugin.ts) and replies with one
 * message. The parent owns the deadline and always terminates this worker; nothing here is
 * trusted to finish. What this side enforces and detects:
 *
 * - V8's own view of the imports is checked against the allow-list before instantiation
 *   (the parent already checked with its own parser; this guards against the two disagreeing);
 * - the plugin is created with @extism/extism's createPlugin, no WASI, no worker of its own, no
 *   allowed hosts or paths, no config, a logger that drops everything, and its kernel functions
 *   `alloc`, `free`, `var_set`, `output_set` and `error_set` overridden through `functions` so
 *   host-side bytes are counted against maxHostBytes (see SandboxKernel);
 * - failures are classified: host budget exceeded, linear memory exhausted, plugin-reported
 *   error, other trap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import createPlugin, { type CallContext, type Plugin } from '@extism/extism';
import { EXTISM_KERNEL_MODULE, WASM_PAGE_BYTES, forbiddenImportReason } from './limits.js';
import type { CompiledModule } from './compiled-module.js';

/** Marks workerData as a sandbox call, so this module does nothing when imported elsewhere. */
export const SANDBOX_WORKER_TAG = 'modelship-sandbox-call/1';

export interface SandboxWorkerRequest {
  readonly tag: typeof SANDBOX_WORKER_TAG;
  /** The plugin, compiled once by the parent (a WebAssembly.Module; cloned, not copied, into the thread). */
  readonly module: CompiledModule;
  readonly functionName: string;
  readonly input: Uint8Array;
  readonly maxHostBytes: number;
  /** The module's declared linear-memory maximum in bytes (0 when it defines no memory). */
  readonly linearLimitBytes: number;
}

export type SandboxFailure =
  | { readonly kind: 'plugin-error'; readonly message: string }
  | {
      readonly kind: 'memory';
      readonly resource: 'linear-memory' | 'host-memory';
      readonly reason: string;
      readonly limitBytes: number;
      readonly usedBytes: number;
    }
  | { readonly kind: 'trap'; readonly trap: string }
  | { readonly kind: 'invalid-module'; readonly reason: string }
  | {
      readonly kind: 'forbidden-import';
      readonly module: string;
      readonly field: string;
      readonly importKind: string;
      readonly reason: string;
    };

export type SandboxWorkerReply =
  | { readonly ok: true; readonly output: Uint8Array; readonly hostBytesPeak: number }
  | { readonly ok: false; readonly failure: SandboxFailure };

/** Charged per kernel block on top of its bytes: the Block, DataView and ArrayBuffer records. */
export const KERNEL_BLOCK_OVERHEAD_BYTES = 256;
/** Charged per variable on top of its key (held as a JS string by the kernel). */
export const KERNEL_VARIABLE_OVERHEAD_BYTES = 128;
/**
 * Most kernel blocks one call may allocate. @extism/extism 1.0.3 addresses a block as
 * `index << 48` and hands it to the plugin as a signed i64, so from index 32768 on the address
 * comes back negative and no longer finds its block; blocks are never reused after `free`.
 */
export const MAX_KERNEL_BLOCKS = 32_000;

/**
 * The parts of the WebAssembly JS API used here. The project compiles against lib ES2022 and
 * @types/node 20, which declare no WebAssembly global, so it is typed locally.
 */
interface WasmApi {
  readonly Module: (abstract new (...args: never[]) => object) & { imports(module: object): { module: string; name: string; kind: string }[] };
  readonly Memory: abstract new (...args: never[]) => { readonly buffer: ArrayBuffer };
  readonly RuntimeError: abstract new (...args: never[]) => Error;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type KernelFunction = (...args: unknown[]) => unknown;
type KernelEnv = Readonly<Record<string, KernelFunction>>;

/** Thrown by the kernel overrides when the host byte budget would be exceeded. */
class HostBudgetExceeded extends Error {}
/** Thrown by the kernel overrides when the plugin misuses a kernel function. */
class KernelMisuse extends Error {}

function blockIndex(addr: unknown): number {
  return Number(BigInt(addr as bigint) >> 48n);
}

/**
 * The kernel functions of 1.0.3's CallContext, captured before createPlugin installs our
 * overrides over them. createPlugin installs `functions[ns][name].bind(null, context)` into
 * the very object the kernel uses as its import namespace, replacing the originals; the first
 * `bind` call happens before the first replacement, so that is where the originals are copied.
 * The kernel object is the CallContext's own symbol-keyed property described as "env".
 */
const originalKernels = new WeakMap<object, KernelEnv>();
function originalKernelOf(context: object): KernelEnv {
  let env = originalKernels.get(context);
  if (env === undefined) {
    const symbol = Object.getOwnPropertySymbols(context).find((s) => s.description === 'env');
    const candidate = symbol === undefined ? undefined : (context as Record<symbol, unknown>)[symbol];
    const needed = ['alloc', 'free', 'var_set', 'output_set', 'error_set'];
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      !needed.every((name) => typeof (candidate as Record<string, unknown>)[name] === 'function')
    ) {
      throw new Error('unrecognised @extism/extism kernel layout (expected 1.0.3); refusing to run the plugin');
    }
    env = Object.freeze({ ...(candidate as Record<string, KernelFunction>) });
    originalKernels.set(context, env);
  }
  return env;
}

/** A host function for `functions` whose implementation also receives the original kernel. */
function override(
  kernel: { context: CallContext | null },
  impl: (context: CallContext, original: KernelEnv, ...args: unknown[]) => unknown,
): KernelFunction {
  const fn: KernelFunction = () => {
    throw new Error('sandbox kernel function called without a context');
  };
  Object.defineProperty(fn, 'bind', {
    value: (_this: unknown, context: CallContext) => {
      const original = originalKernelOf(context);
      kernel.context = context;
      return (...args: unknown[]) => impl(context, original, ...args);
    },
  });
  return fn;
}

/** Host-side byte accounting for one call. */
class SandboxKernel {
  used = 0;
  peak = 0;
  allocations = 0;
  /** Set once the budget is exceeded; sticky, so a plugin that catches the exception still fails. */
  exceeded: { reason: string; usedBytes: number } | null = null;
  output: { index: number; length: number } | null = null;
  errorAddress: bigint | null = null;
  /** The kernel's CallContext, seen by the first override the plugin calls. */
  context: CallContext | null = null;
  private readonly charges = new Map<number, number>();
  private readonly variables = new Map<string, number>();

  constructor(readonly maxBytes: number) {}

  private charge(bytes: number, what: string): void {
    if (this.exceeded === null && this.used + bytes > this.maxBytes) {
      this.exceeded = {
        reason:
          `${what} would bring host-side kernel memory to ${this.used + bytes} bytes, ` +
          `above the limit of ${this.maxBytes} bytes (maxHostBytes)`,
        usedBytes: this.used + bytes,
      };
    }
    if (this.exceeded !== null) throw new HostBudgetExceeded(this.exceeded.reason);
    this.used += bytes;
    this.peak = Math.max(this.peak, this.used);
  }

  functions(): Record<string, KernelFunction> {
    return {
      alloc: override(this, (_context, original, n) => {
        const size = BigInt(n as bigint);
        if (size < 0n) throw new KernelMisuse(`alloc(${size}): negative size`);
        if (this.exceeded !== null) throw new HostBudgetExceeded(this.exceeded.reason);
        if (this.allocations >= MAX_KERNEL_BLOCKS) {
          this.exceeded = {
            reason: `the kernel's block table is full (${MAX_KERNEL_BLOCKS} allocations in one call)`,
            usedBytes: this.used,
          };
          throw new HostBudgetExceeded(this.exceeded.reason);
        }
        const bytes = Number(size) + KERNEL_BLOCK_OVERHEAD_BYTES; // approximate above 2^53, still over any limit
        this.charge(bytes, `alloc(${size})`);
        this.allocations++;
        const addr = original.alloc!(size) as bigint;
        this.charges.set(blockIndex(addr), bytes);
        return addr;
      }),
      free: override(this, (_context, original, addr) => {
        const index = blockIndex(addr);
        const bytes = this.charges.get(index);
        // Only blocks the plugin allocated can be freed; anything else is a no-op.
        if (bytes === undefined) return;
        this.charges.delete(index);
        this.used -= bytes;
        original.free!(addr);
      }),
      var_set: override(this, (context, original, keyAddr, valueAddr) => {
        const key = context.read(keyAddr as bigint)?.string();
        if (key !== undefined) {
          const held = this.variables.get(key);
          if (BigInt(valueAddr as bigint) === 0n) {
            if (held !== undefined) {
              this.variables.delete(key);
              this.used -= held;
            }
          } else if (held === undefined) {
            const bytes = key.length * 2 + KERNEL_VARIABLE_OVERHEAD_BYTES;
            this.charge(bytes, `var_set("${key.slice(0, 40)}")`);
            this.variables.set(key, bytes);
          }
        }
        return original.var_set!(keyAddr, valueAddr);
      }),
      output_set: override(this, (_context, original, addr, length) => {
        const result = original.output_set!(addr, length);
        this.output = { index: blockIndex(addr), length: Number(length) };
        return result;
      }),
      error_set: override(this, (_context, original, addr) => {
        const result = original.error_set!(addr);
        this.errorAddress = BigInt(addr as bigint);
        return result;
      }),
    };
  }
}

/** A Console that drops everything: plugin logs are never printed by the sandbox. */
const silentLogger = new Proxy({} as Console, { get: () => () => undefined });

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Signs that a trap or abort message is about running out of memory. */
const MEMORY_MESSAGE = /out of memory|allocation too large|memory allocation|allocation failed|cannot grow|\boom\b/i;

/** Size of the instance's exported linear memory, or null when it exports none. */
function linearMemoryBytes(instance: unknown): number | null {
  const exports = (instance as { exports?: Record<string, unknown> } | undefined)?.exports;
  if (exports === undefined) return null;
  for (const value of Object.values(exports)) {
    if (value instanceof wasmApi.Memory) return value.buffer.byteLength;
  }
  return null;
}

async function runRequest(request: SandboxWorkerRequest): Promise<{ reply: SandboxWorkerReply; transfer: ArrayBuffer[] }> {
  const fail = (failure: SandboxFailure) => ({ reply: { ok: false, failure } as const, transfer: [] });

  const module = request.module;
  if (!(module instanceof wasmApi.Module)) {
    return fail({ kind: 'invalid-module', reason: 'the sandbox worker was not given a compiled module' });
  }
  for (const imp of wasmApi.Module.imports(module)) {
    if (imp.kind === 'memory') {
      return fail({ kind: 'invalid-module', reason: `the module imports its memory ("${imp.module}"."${imp.name}")` });
    }
    const reason = forbiddenImportReason(imp.module, imp.name, imp.kind);
    if (reason !== null) {
      return fail({ kind: 'forbidden-import', module: imp.module, field: imp.name, importKind: imp.kind, reason });
    }
  }

  const kernel = new SandboxKernel(request.maxHostBytes);
  let plugin: Plugin | undefined;
  let instance: unknown;
  let output: Uint8Array | undefined;
  let thrown: unknown;
  let threw = false;
  try {
    plugin = await createPlugin(
      { wasm: [{ module: module as never }] },
      {
        useWasi: false,
        runInWorker: false,
        allowedHosts: [],
        allowedPaths: {},
        config: Object.create(null) as Record<string, string>,
        logger: silentLogger,
        fetch: () => Promise.reject(new Error('the sandbox has no network')),
        functions: { [EXTISM_KERNEL_MODULE]: kernel.functions() },
      },
    );
    instance = await plugin.getInstance();
    const result = await plugin.call(request.functionName, request.input);
    // PluginOutput is a DataView over the kernel block (1.0.3's typings hide that).
    const view = result as unknown as DataView | null;
    output = view === null ? new Uint8Array(0) : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  } catch (err) {
    threw = true;
    thrown = err;
  }

  if (kernel.exceeded !== null) {
    return fail({
      kind: 'memory',
      resource: 'host-memory',
      reason: kernel.exceeded.reason,
      limitBytes: request.maxHostBytes,
      usedBytes: kernel.exceeded.usedBytes,
    });
  }

  // What the plugin passed to error_set, if anything (an explicit error, or our abort handler's).
  const reported = kernel.errorAddress === null ? null : (kernel.context?.read(kernel.errorAddress)?.string() ?? null);

  if (!threw) {
    const bytes = output ?? new Uint8Array(0);
    const length = kernel.output !== null ? Math.min(kernel.output.length, bytes.length) : bytes.length;
    const copy = bytes.slice(0, length); // exact-size buffer to transfer
    return { reply: { ok: true, output: copy, hostBytesPeak: kernel.peak }, transfer: [copy.buffer as ArrayBuffer] };
  }

  // A plugin that set an error and returned normally: 1.0.3 throws "Plugin-originated error: ...".
  if (reported !== null && !(thrown instanceof wasmApi.RuntimeError) && /^Plugin-originated error: /.test(errorText(thrown))) {
    return fail({ kind: 'plugin-error', message: reported });
  }

  const message = reported ?? errorText(thrown);
  if (thrown instanceof wasmApi.RuntimeError) {
    const bytes = linearMemoryBytes(instance);
    const limit = request.linearLimitBytes;
    // A failed memory.grow(n) means size + n > maximum. The host cannot see n, so a trap with the
    // memory within an eighth of its maximum (at least a page) is taken as exhaustion; allocators
    // trap on the first failed grow, typically asking for about as much as they already hold or
    // for the block they need. A trap with plenty of headroom is an ordinary trap.
    const headroom = Math.max(WASM_PAGE_BYTES, Math.ceil(limit / 8));
    const atCap = bytes !== null && limit > 0 && bytes + headroom >= limit;
    if (atCap || MEMORY_MESSAGE.test(message)) {
      return fail({
        kind: 'memory',
        resource: 'linear-memory',
        reason:
          `it trapped (${message}) with its linear memory at ${bytes ?? 'an unknown number of'} bytes ` +
          `of its declared maximum of ${limit} bytes, so memory.grow could not give it more`,
        limitBytes: limit,
        usedBytes: bytes ?? 0,
      });
    }
    return fail({ kind: 'trap', trap: message });
  }
  if (thrown instanceof RangeError && /allocation failed/i.test(errorText(thrown))) {
    return fail({
      kind: 'memory',
      resource: 'host-memory',
      reason: `the host could not allocate memory for it (${errorText(thrown)})`,
      limitBytes: request.maxHostBytes,
      usedBytes: kernel.used,
    });
  }
  if (thrown instanceof KernelMisuse) return fail({ kind: 'trap', trap: `kernel misuse: ${thrown.message}` });
  return fail({ kind: 'trap', trap: message });
}

// Runs only as runPlugin's worker (importing this module elsewhere does nothing).
const port = parentPort;
const request = workerData as SandboxWorkerRequest | undefined;
if (port !== null && request?.tag === SANDBOX_WORKER_TAG) {
  runRequest(request).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (err: unknown) => port.postMessage({ ok: false, failure: { kind: 'trap', trap: `sandbox worker failed: ${errorText(err)}` } }),
  );
}
