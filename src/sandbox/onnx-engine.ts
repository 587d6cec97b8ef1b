/**
 * Runs an ONNX model in the sandbox engine: onnxruntime's own WebAssembly build, checked and
 * compiled once per process (engine-module.ts), instantiated afresh for every call in a thread
 * of its own (engine-worker.ts) with the host's memory ceiling and deadline.
 *
 * Preparing an instance (thread start, onnxruntime-web's JavaScript, instantiation, OrtInit)
 * costs more than loading and running a small model, so when a call has settled one spare thread
 * is prepared in the background with the same settings; the next call takes it (each thread still
 * serves exactly one call, so no state crosses calls) or, with other settings, starts its own.
 * Its linear memory may be the last call's, zeroed, once that call's thread has exited
 * (RECYCLED_MEMORY_MAX_BYTES).
 */
import { ENGINE_CALL, SandboxEngineError, SandboxMemoryError, SandboxTrapError } from '../errors/index.js';
import { loadEngine } from './engine-module.js';
import {
  ENGINE_MIN_MEMORY_BYTES,
  ENGINE_READY,
  ENGINE_WORKER_TAG,
  type EngineTimings,
  type EngineWorkerReply,
  type EngineWorkerRequest,
  type EngineWorkerSetup,
  type WebAssemblyMemory,
  WASM_PAGE_BYTES,
} from './engine-worker.js';
import { finishSandboxThread, nextMessage, startSandboxThread, type SandboxThread } from './sandbox-thread.js';
import type { EngineModule } from './engine-module.js';
import type { Tensor } from '../tensor/tensor.js';

const WORKER_URL = new URL('./engine-worker.js', import.meta.url);

/** Threads inside the sandbox by default: one (see the README's figures: on 2 cores a second thread bought little and competes with the native reference). */
export const DEFAULT_ENGINE_THREADS = 1;
/** The default linear-memory ceiling: half the 4 GiB a wasm32 module can address. */
export const DEFAULT_ENGINE_MEMORY_BYTES = 2 * 1024 * 1024 * 1024;
/** The most a wasm32 module can address. */
export const ENGINE_MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024 - 65_536;
export const DEFAULT_ENGINE_TIMEOUT_MS = 30_000;
/**
 * onnxruntime copies the model into its linear memory and then builds the initializers from it,
 * so loading needs about twice the model's bytes (plus its working set).
 */
const LOAD_FACTOR = 2;
const LOAD_OVERHEAD_BYTES = 32 * 1024 * 1024;

/** The V8 heap of the engine's thread: onnxruntime-web's JavaScript side only; tensors are ArrayBuffers. */
const ENGINE_THREAD_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

export interface ExternalDataFile {
  /** The location as the model writes it (a file of the bundle). */
  readonly path: string;
  readonly data: Uint8Array;
}

export interface EngineOptions {
  readonly timeoutMs?: number;
  /** Ceiling of the engine's linear memory, in bytes. */
  readonly maxMemoryBytes?: number;
  readonly threads?: number;
  /** The model's external-data files, resolved by the host against the bundle. */
  readonly externalData?: readonly ExternalDataFile[];
  /** Another onnxruntime-web dist folder (tests); default the installed one. */
  readonly engineDir?: string;
  /** Extra runs on the same session, timed (the bench's warm figure). */
  readonly warmRuns?: number;
}

export interface EngineRun {
  readonly outputs: Tensor[];
  /** Linear memory in use when the call finished. */
  readonly memoryBytes: number;
  readonly timings: EngineTimings;
  readonly engineSha256: string;
  /** The worker thread that ran it (one per call). */
  readonly threadId: number;
  /** Whether it ran on the zeroed memory of an earlier, exited call (RECYCLED_MEMORY_MAX_BYTES). */
  readonly memoryRecycled: boolean;
}

interface EngineThread {
  readonly key: string;
  readonly thread: SandboxThread;
  /** ENGINE_READY, or the thread's failure reply. */
  readonly ready: Promise<unknown>;
  readonly memory: WebAssemblyMemory;
  readonly recycledMemory: boolean;
}

let spare: EngineThread | undefined;

/**
 * A call's linear memory is handed to the next instance with the same settings once the call's
 * thread has exited, and zeroed there before anything runs on it. A fresh memory costs a page
 * fault per 4 KiB touched: a 200 MiB model's call spent 40% of its CPU (120 ms) in the kernel
 * faulting its memory in. Only memories up to this size are kept (an idle worker holds it), only
 * up to half the ceiling (so a kept memory never looks like one near its limit), and only with
 * one thread inside (no engine threads of its own that could outlive it).
 */
export const RECYCLED_MEMORY_MAX_BYTES = 512 * 1024 * 1024;
let recycled: { readonly key: string; readonly memory: WebAssemblyMemory } | undefined;

interface WasmMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WebAssemblyMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmMemoryApi }).WebAssembly;

function takeMemory(key: string, memoryLimitBytes: number): { memory: WebAssemblyMemory; recycledMemory: boolean } {
  const kept = recycled?.key === key ? recycled.memory : undefined;
  recycled = undefined;
  if (kept) return { memory: kept, recycledMemory: true };
  const memory = new wasmApi.Memory({ initial: ENGINE_MIN_MEMORY_BYTES / WASM_PAGE_BYTES, maximum: Math.floor(memoryLimitBytes / WASM_PAGE_BYTES), shared: true });
  return { memory, recycledMemory: false };
}

/** Keeps the memory of an engine thread that has exited, if it qualifies (see RECYCLED_MEMORY_MAX_BYTES). */
function offerMemory(engineThread: EngineThread, memoryLimitBytes: number, threads: number): void {
  const bytes = engineThread.memory.buffer.byteLength;
  if (threads !== 1 || bytes > RECYCLED_MEMORY_MAX_BYTES || bytes > memoryLimitBytes / 2) return;
  recycled = { key: engineThread.key, memory: engineThread.memory };
}

function startEngineThread(engine: EngineModule, key: string, memoryLimitBytes: number, threads: number): EngineThread {
  const { memory, recycledMemory } = takeMemory(key, memoryLimitBytes);
  const setup: EngineWorkerSetup = { tag: ENGINE_WORKER_TAG, module: engine.module, loaderUrl: engine.loaderUrl, memoryLimitBytes, memory, recycledMemory, threads };
  const thread = startSandboxThread({ workerUrl: WORKER_URL, workerData: setup, resourceLimits: ENGINE_THREAD_LIMITS, functionName: ENGINE_CALL });
  const started: EngineThread = { key, thread, ready: nextMessage(thread.worker), memory, recycledMemory };
  // Only once the thread is gone can nothing in it write to the memory any more.
  void thread.exited.then(() => offerMemory(started, memoryLimitBytes, threads));
  return started;
}

/** The spare if it has these settings (and is alive), else a new thread of its own. */
function takeEngineThread(engine: EngineModule, key: string, memoryLimitBytes: number, threads: number): EngineThread {
  const taken = spare?.key === key ? spare : startEngineThread(engine, key, memoryLimitBytes, threads);
  if (taken === spare) spare = undefined;
  taken.thread.worker.ref();
  return taken;
}

/**
 * Starts the spare for the next call with these settings, unless one is there. Called when a call
 * has settled, not while it runs: on two cores, preparing the next instance beside a running
 * model slowed the call itself; between releases there is ample time to prepare it.
 */
function prepareSpare(engine: EngineModule, key: string, memoryLimitBytes: number, threads: number): EngineThread {
  if (spare?.key === key) return spare;
  if (spare) void spare.thread.worker.terminate();
  const next = startEngineThread(engine, key, memoryLimitBytes, threads);
  // Idle, it must not keep the process alive; dead, it is dropped.
  next.thread.worker.unref();
  void next.thread.died.then(() => {
    if (spare === next) spare = undefined;
  });
  spare = next;
  return next;
}

interface ThreadSettings {
  readonly key: string;
  readonly limit: number;
  readonly threads: number;
}

function threadSettings(options: Pick<EngineOptions, 'engineDir' | 'maxMemoryBytes' | 'threads'>): ThreadSettings {
  const limit = Math.min(options.maxMemoryBytes ?? DEFAULT_ENGINE_MEMORY_BYTES, ENGINE_MAX_MEMORY_BYTES);
  if (limit < ENGINE_MIN_MEMORY_BYTES) {
    throw new RangeError(`the sandbox engine needs a memory ceiling of at least ${ENGINE_MIN_MEMORY_BYTES / 1048576} MiB, got ${limit} bytes`);
  }
  const threads = options.threads ?? DEFAULT_ENGINE_THREADS;
  if (!Number.isInteger(threads) || threads < 1 || threads > 16) throw new RangeError(`sandbox engine threads must be an integer from 1 to 16, got ${threads}`);
  return { key: `${options.engineDir ?? ''}|${limit}|${threads}`, limit, threads };
}

/**
 * Prepares an engine instance for the next call with these settings (a worker at start, so its
 * first smoke call does not pay for it; the bench, so it times a call as a worker between
 * releases makes it). Resolves when the instance is ready; a failure is the next call's to report.
 */
export async function prepareEngineThread(options: Pick<EngineOptions, 'engineDir' | 'maxMemoryBytes' | 'threads'> = {}): Promise<void> {
  const settings = threadSettings(options);
  const engine = await loadEngine(options.engineDir);
  const prepared = prepareSpare(engine, settings.key, settings.limit, settings.threads);
  // Waited for, the idle thread must keep the process alive until it is ready.
  prepared.thread.worker.ref();
  try {
    await prepared.ready;
  } finally {
    if (spare === prepared) prepared.thread.worker.unref();
  }
}

/** How long an engine instance may take to be prepared (thread, instantiation, warm-up) before a call gives up on it. */
export const ENGINE_PREPARE_DEADLINE_MS = 120_000;

/** ENGINE_READY, the thread's failure reply, or a trap reply when it died or missed ENGINE_PREPARE_DEADLINE_MS. */
async function instanceReady(thread: SandboxThread, ready: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const trap = (reason: string): EngineWorkerReply => ({ ok: false, failure: { kind: 'trap', trap: reason } });
  const outcome = await Promise.race([
    ready,
    thread.died.then(() => trap('its thread died while the engine instance was being prepared')),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(trap(`the engine instance was not prepared within ${ENGINE_PREPARE_DEADLINE_MS / 1000} s (is the machine overloaded?)`)), ENGINE_PREPARE_DEADLINE_MS);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

/** Runs `model` on `inputs` in the sandbox engine; outputs in the graph's output order. */
export async function runOnnxInSandbox(model: Uint8Array, inputs: readonly Tensor[], options: EngineOptions = {}): Promise<Tensor[]> {
  return (await runEngine(model, inputs, options)).outputs;
}

/** runOnnxInSandbox with the call's figures (memory, timings) and the engine's digest. */
export async function runEngine(model: Uint8Array, inputs: readonly Tensor[], options: EngineOptions = {}): Promise<EngineRun> {
  const settings = threadSettings(options);
  const { limit } = settings;
  const externalData = options.externalData ?? [];
  const modelBytes = model.byteLength + externalData.reduce((n, f) => n + f.data.byteLength, 0);
  const needed = modelBytes * LOAD_FACTOR + LOAD_OVERHEAD_BYTES;
  if (needed > limit) {
    const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
    throw new SandboxMemoryError(
      ENGINE_CALL,
      'linear-memory',
      `the model is ${mib(modelBytes)}${externalData.length ? ' with its external data' : ''}, and loading it needs about ${mib(needed)} of linear memory, ` +
        `above the sandbox's limit of ${mib(limit)}` +
        (limit < ENGINE_MAX_MEMORY_BYTES && needed <= ENGINE_MAX_MEMORY_BYTES
          ? `; raise it with --smoke-max-memory-mib ${Math.ceil(needed / 1048576)} (at most 4095)`
          : `; a wasm32 sandbox addresses at most 4 GiB, so smoke this model with a smaller variant (fewer or quantized weights) or run it natively only`),
      limit,
      needed,
    );
  }
  const engine = await loadEngine(options.engineDir);
  const { thread, ready, recycledMemory } = takeEngineThread(engine, settings.key, limit, settings.threads);

  // Exact-size copies, transferred: the caller's buffers stay its own.
  const request: EngineWorkerRequest = {
    model: new Uint8Array(model),
    externalData: externalData.map((f) => ({ path: f.path, data: new Uint8Array(f.data) })),
    inputs: inputs.map((t) => ({ ...t, dims: [...t.dims], data: new Uint8Array(t.data) })),
    ...(options.warmRuns ? { warmRuns: options.warmRuns } : {}),
  };
  const transfer = [request.model, ...request.externalData.map((f) => f.data), ...request.inputs.map((t) => t.data)].map((b) => b.buffer as ArrayBuffer);
  // The call's deadline is the model's: it starts once the instance is prepared. Preparing runs
  // only our own warm-up (which no model can influence) and has a deadline of its own.
  const prepared = await instanceReady(thread, ready);
  const answered =
    prepared === ENGINE_READY
      ? (() => {
          const reply = nextMessage(thread.worker);
          thread.worker.postMessage(request, transfer);
          return reply;
        })()
      : Promise.resolve(prepared); // the instance could not be prepared: its failure
  let reply: EngineWorkerReply | null;
  try {
    reply = (await finishSandboxThread(
      thread,
      { timeoutMs: options.timeoutMs ?? DEFAULT_ENGINE_TIMEOUT_MS, resourceLimits: ENGINE_THREAD_LIMITS, functionName: ENGINE_CALL },
      answered,
    )) as EngineWorkerReply | null;
  } finally {
    prepareSpare(engine, settings.key, limit, settings.threads);
  }
  if (reply === null || typeof reply !== 'object' || typeof reply.ok !== 'boolean') throw new SandboxTrapError(ENGINE_CALL, 'its thread sent a malformed reply');
  if (reply.ok) return { outputs: reply.outputs, memoryBytes: reply.memoryBytes, timings: reply.timings, engineSha256: engine.wasmSha256, threadId: thread.threadId, memoryRecycled: recycledMemory };
  const failure = reply.failure;
  switch (failure.kind) {
    case 'engine':
      throw new SandboxEngineError(failure.phase, failure.message);
    case 'memory':
      throw new SandboxMemoryError(
        ENGINE_CALL,
        'linear-memory',
        `onnxruntime failed (${failure.message}) with its linear memory at ${failure.usedBytes} bytes of the host's maximum of ${failure.limitBytes} bytes`,
        failure.limitBytes,
        failure.usedBytes,
      );
    case 'trap':
      throw new SandboxTrapError(ENGINE_CALL, failure.trap);
  }
}
