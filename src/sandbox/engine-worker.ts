/**
 * The thread that runs ONE model in the sandbox engine (onnxruntime-web) and replies once.
 * Started by onnx-engine.ts with an empty environment, it first prepares a fresh engine
 * instance (the memory, the module, onnxruntime's own initialisation) and says `ready`; then it
 * takes exactly one call by message, replies, and is terminated by the parent, which owns the
 * deadline. A prepared thread is a spare the next call can take: never used twice. Here:
 * - the linear memory is created by the host with the call's maximum and handed to the loader
 *   (WebAssembly.Memory is wrapped, in this thread only, before the loader creates its heap);
 * - onnxruntime-web is given engine-loader.ts as its factory, so the parent's checked module
 *   is what runs, on that memory;
 * - external data comes only as bytes the host resolved from the bundle, never as paths;
 * - failures are classified: memory ceiling, engine error by phase.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { configureEngineLoader } from './engine-loader.js';
import { ENGINE_WARM_UP_INPUT, ENGINE_WARM_UP_MODEL_BASE64 } from './engine-warm-up-model.js';
import type { CompiledModule } from './compiled-module.js';
import { ELEMENT_BYTES, typedValues, type Tensor, type TensorType } from '../tensor/tensor.js';

export const ENGINE_WORKER_TAG = 'modelship-engine-call/1';

/** What a thread is started with: the engine instance it prepares. */
export interface EngineWorkerSetup {
  readonly tag: typeof ENGINE_WORKER_TAG;
  readonly module: CompiledModule;
  readonly loaderUrl: string;
  /** The memory's maximum, in bytes (whole pages). */
  readonly memoryLimitBytes: number;
  /** The linear memory, created by the host with the call's maximum (shared: the threaded build's). */
  readonly memory: WebAssemblyMemory;
  /** A memory an exited thread used before: zeroed here before anything runs on it. */
  readonly recycledMemory: boolean;
  readonly threads: number;
}

/** A shared WebAssembly.Memory (lib ES2022 and @types/node 20 declare none). */
export type WebAssemblyMemory = MemoryLike & { readonly __wasmMemory?: never };

/** The one call a prepared thread takes. */
export interface EngineWorkerRequest {
  readonly model: Uint8Array;
  /** Initializer files the host resolved against the bundle: path as written in the model, bytes. */
  readonly externalData: readonly { readonly path: string; readonly data: Uint8Array }[];
  readonly inputs: readonly Tensor[];
  /** Runs after the first on the same session (the bench's warm figure); default 0. */
  readonly warmRuns?: number;
}

export type EngineFailure =
  | { readonly kind: 'engine'; readonly phase: 'load' | 'input' | 'run' | 'output'; readonly message: string }
  | { readonly kind: 'memory'; readonly message: string; readonly usedBytes: number; readonly limitBytes: number }
  | { readonly kind: 'trap'; readonly trap: string };

export interface EngineTimings {
  readonly sessionMs: number;
  readonly firstRunMs: number;
  readonly warmRunMs: readonly number[];
}

/** Sent once the instance is prepared (or failed to be: then the failure instead). */
export const ENGINE_READY = 'modelship-engine-ready';

export type EngineWorkerReply =
  | { readonly ok: true; readonly outputs: Tensor[]; readonly memoryBytes: number; readonly timings: EngineTimings }
  | { readonly ok: false; readonly failure: EngineFailure };

/** A WebAssembly page. */
export const WASM_PAGE_BYTES = 65_536;
/** The loader's initial heap (256 pages); a smaller ceiling cannot even start. */
export const ENGINE_MIN_MEMORY_BYTES = 256 * WASM_PAGE_BYTES;

interface MemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface MemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}
type MemoryConstructor = new (descriptor: MemoryDescriptor) => MemoryLike;

/**
 * Gives the loader the host's memory when it asks for its shared heap, so the module runs on
 * the memory the host created with the call's maximum. A recycled memory is zeroed first: its
 * previous thread has exited (the host hands it on only then), and zeroed it is what a new
 * memory would hold, only already mapped, so the call does not fault its pages in again.
 */
function useHostMemory(memory: MemoryLike, recycled: boolean): () => MemoryLike | undefined {
  if (recycled) new Uint8Array(memory.buffer).fill(0);
  const api = (globalThis as unknown as { WebAssembly: { Memory: MemoryConstructor } }).WebAssembly;
  const Original = api.Memory;
  let given: MemoryLike | undefined;
  const HostMemory = function (descriptor: MemoryDescriptor): MemoryLike {
    if (!descriptor.shared) return new Original(descriptor);
    if (given !== undefined) throw new Error('the engine asked for a second linear memory');
    if (descriptor.initial * WASM_PAGE_BYTES > memory.buffer.byteLength) throw new Error(`the engine asked for ${descriptor.initial} pages initially, more than the host's memory holds`);
    given = memory;
    return memory;
  } as unknown as MemoryConstructor;
  Object.defineProperty(HostMemory, 'prototype', { value: Original.prototype });
  Object.defineProperty(HostMemory, Symbol.hasInstance, { value: (v: unknown) => v instanceof Original });
  api.Memory = HostMemory;
  return () => given;
}

type OrtModule = typeof import('onnxruntime-web');
type OrtTensor = import('onnxruntime-web').Tensor;

class PhaseError extends Error {
  constructor(
    readonly phase: 'load' | 'input' | 'run' | 'output',
    message: string,
  ) {
    super(message);
  }
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 1000);
}

/** Element types onnxruntime-web's Tensor takes, as typedValues gives them (bfloat16 it has not). */
const takes = (type: string): type is Exclude<TensorType, 'bfloat16'> => type !== 'bfloat16' && type in ELEMENT_BYTES;

function toOrt(ort: OrtModule, t: Tensor): OrtTensor {
  if (!takes(t.type)) throw new PhaseError('input', `input ${t.name}: the engine takes no ${t.type} tensors`);
  return new ort.Tensor(t.type as never, typedValues(t) as never, [...t.dims]);
}

function fromOrt(name: string, value: OrtTensor): Tensor {
  const type = value.type;
  if (!takes(type)) throw new PhaseError('output', `output ${name} is a ${value.type} tensor, which smoke cannot compare`);
  const data = value.data as ArrayBufferView;
  return { name, type, dims: [...value.dims], data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

const MEMORY_MESSAGE = /bad_alloc|out of memory|\bOOM\b|Cannot enlarge memory|failed to allocate/i;

interface Prepared {
  readonly ort: OrtModule;
  readonly memoryBytes: () => number;
  readonly limitBytes: number;
}

/**
 * Preparing an instance runs the warm-up model once (engine-warm-up-model.ts): it makes
 * onnxruntime-web instantiate the module and initialise (OrtInit, its environment and thread
 * pool) before any call, and in the first instance of a process it makes V8 compile the code of
 * the common layers (wasm-tiering.ts), so a worker's first smoke call pays neither. Our own fixed
 * model: nothing of a user's crosses into the call.
 */
const WARM_UP_MODEL = Uint8Array.from(Buffer.from(ENGINE_WARM_UP_MODEL_BASE64, 'base64'));

async function prepare(setup: EngineWorkerSetup): Promise<Prepared> {
  const memory = useHostMemory(setup.memory, setup.recycledMemory);
  configureEngineLoader({ module: setup.module, loaderUrl: setup.loaderUrl, memory });
  const ort: OrtModule = await import('onnxruntime-web');
  ort.env.wasm.numThreads = setup.threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: new URL('./engine-loader.js', import.meta.url) };
  ort.env.logLevel = 'fatal';
  const warm = await ort.InferenceSession.create(WARM_UP_MODEL, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 4 });
  const dims = [...ENGINE_WARM_UP_INPUT.dims];
  await warm.run({ [ENGINE_WARM_UP_INPUT.name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5), dims) });
  await warm.release();
  return { ort, memoryBytes: () => memory()?.buffer.byteLength ?? 0, limitBytes: setup.memoryLimitBytes };
}

async function run(prepared: Prepared, request: EngineWorkerRequest): Promise<{ reply: EngineWorkerReply; transfer: ArrayBuffer[] }> {
  const { ort, memoryBytes } = prepared;
  const started = performance.now();
  let phase: 'load' | 'input' | 'run' | 'output' = 'load';
  try {
    const session = await ort.InferenceSession.create(request.model, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      externalData: request.externalData.map((f) => ({ path: f.path, data: f.data })),
    });
    const sessionMs = performance.now() - started;
    phase = 'input';
    const feeds = Object.fromEntries(request.inputs.map((t) => [t.name, toOrt(ort, t)]));
    phase = 'run';
    const runStarted = performance.now();
    const results = await session.run(feeds);
    const firstRunMs = performance.now() - runStarted;
    const warmRunMs: number[] = [];
    for (let i = 0; i < (request.warmRuns ?? 0); i++) {
      const t = performance.now();
      await session.run(feeds);
      warmRunMs.push(performance.now() - t);
    }
    phase = 'output';
    const outputs = session.outputNames.map((name) => fromOrt(name, results[name]!));
    return {
      reply: { ok: true, outputs, memoryBytes: memoryBytes(), timings: { sessionMs, firstRunMs, warmRunMs } },
      transfer: outputs.map((t) => t.data.buffer as ArrayBuffer),
    };
  } catch (err) {
    const message = messageOf(err);
    const used = memoryBytes();
    const limit = prepared.limitBytes;
    const headroom = Math.max(WASM_PAGE_BYTES, Math.ceil(limit / 8));
    if (err instanceof PhaseError) return { reply: { ok: false, failure: { kind: 'engine', phase: err.phase, message } }, transfer: [] };
    if (used + headroom >= limit || MEMORY_MESSAGE.test(message)) {
      return { reply: { ok: false, failure: { kind: 'memory', message, usedBytes: used, limitBytes: limit } }, transfer: [] };
    }
    return { reply: { ok: false, failure: { kind: 'engine', phase, message } }, transfer: [] };
  }
}

// Runs only as the engine's thread (importing this module elsewhere does nothing): prepare,
// say ready, take one request, reply.
const port = parentPort;
const setup = workerData as EngineWorkerSetup | undefined;
if (port !== null && setup?.tag === ENGINE_WORKER_TAG) {
  // Alive until the parent terminates it: once the one 'message' listener is gone, only
  // onnxruntime's pending promises would remain, and a thread with nothing else to wait on exits.
  setInterval(() => undefined, 1 << 30);
  const fail = (err: unknown) => port.postMessage({ ok: false, failure: { kind: 'trap', trap: `the engine's thread failed: ${messageOf(err)}` } } satisfies EngineWorkerReply);
  prepare(setup).then((prepared) => {
    port.once('message', (request: EngineWorkerRequest) => {
      run(prepared, request).then(({ reply, transfer }) => port.postMessage(reply, transfer), fail);
    });
    port.postMessage(ENGINE_READY);
  }, fail);
}
