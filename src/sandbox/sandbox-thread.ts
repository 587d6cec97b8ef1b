/**
 * One sandboxed call in a worker thread of its own, for user plugins (run-plugin.ts) and the
 * ONNX engine (onnx-engine.ts) alike. The thread gets an empty environment and V8 heap limits;
 * the parent races its one reply against a deadline and terminates the thread, whatever
 * happened, before the call settles — nothing inside is trusted to finish.
 */
import { performance } from 'node:perf_hooks';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { SandboxMemoryError, SandboxTimeoutError, SandboxTrapError } from '../errors/index.js';

/** How long to wait for a terminated worker to confirm its exit before giving up on it (unref). */
const TERMINATE_GRACE_MS = 2_000;

export interface SandboxThreadCall {
  /** The worker's entry module. */
  readonly workerUrl: URL;
  readonly workerData: unknown;
  readonly transferList?: readonly ArrayBuffer[];
  readonly timeoutMs: number;
  /** The V8 heap limits of the thread (they bound JavaScript objects, not WebAssembly memory). */
  readonly resourceLimits: ResourceLimits;
  /** Names the call in errors: a plugin export, or ENGINE_CALL. */
  readonly functionName: string;
}

let workersStarted = 0;
let workersRunning = 0;

/** How many sandbox workers this process has started, and how many have not yet exited. */
export function sandboxWorkerCounts(): { readonly started: number; readonly running: number } {
  return { started: workersStarted, running: workersRunning };
}

type Outcome =
  | { readonly kind: 'reply'; readonly reply: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'timeout' };

/** A started sandbox thread: its worker, and the first sign of its death (error or exit). */
export interface SandboxThread {
  readonly worker: Worker;
  /** The worker's thread id (Worker#threadId reads -1 once it has exited). */
  readonly threadId: number;
  readonly died: Promise<Outcome>;
  readonly exited: Promise<number>;
}

export type SandboxThreadStart = Omit<SandboxThreadCall, 'timeoutMs'>;

/** Starts the worker (it runs until the call on it settles, or forever when never called: unref it). */
export function startSandboxThread(start: SandboxThreadStart): SandboxThread {
  const worker = new Worker(start.workerUrl, {
    workerData: start.workerData,
    transferList: [...(start.transferList ?? [])],
    resourceLimits: start.resourceLimits,
    // --no-warnings: @extism/extism loads node:wasi (unused here), which prints an ExperimentalWarning.
    execArgv: ['--no-warnings'],
    env: {},
    name: `modelship-sandbox:${start.functionName}`,
  });
  workersStarted++;
  workersRunning++;
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      workersRunning--;
      resolve(code);
    });
  });
  const died = new Promise<Outcome>((resolve) => {
    // Kept for the worker's whole life: an 'error' without a listener would crash the process.
    worker.on('error', (error) => resolve({ kind: 'error', error }));
    worker.on('messageerror', (error) => resolve({ kind: 'error', error }));
    void exited.then((code) => resolve({ kind: 'exit', code }));
  });
  return { worker, threadId: worker.threadId, died, exited };
}

/** The next message the worker sends (listen before you post what it answers). */
export function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve) => worker.once('message', resolve));
}

/**
 * Runs the worker and returns its one reply message, unparsed. Throws SandboxTimeoutError at
 * the deadline, SandboxMemoryError when the thread's JavaScript heap runs out, and
 * SandboxTrapError when the thread dies or exits without replying.
 */
export async function runSandboxThread(call: SandboxThreadCall): Promise<unknown> {
  const thread = startSandboxThread(call);
  return finishSandboxThread(thread, call, nextMessage(thread.worker));
}

/**
 * Races `reply` against the thread's death and the deadline (counted from now), then
 * terminates the thread whatever happened and returns the reply or throws the sandbox error.
 */
export async function finishSandboxThread(
  thread: SandboxThread,
  call: Pick<SandboxThreadCall, 'timeoutMs' | 'functionName' | 'resourceLimits'>,
  reply: Promise<unknown>,
): Promise<unknown> {
  const { functionName } = call;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race<Outcome>([
    reply.then((value) => ({ kind: 'reply', reply: value }) as const),
    thread.died,
    new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), call.timeoutMs);
    }),
  ]);
  clearTimeout(timer);

  const stopped = await stopWorker(thread.worker, thread.exited);
  const stoppedAfterMs = performance.now() - started;

  switch (outcome.kind) {
    case 'timeout':
      throw new SandboxTimeoutError(functionName, call.timeoutMs, stoppedAfterMs, stopped);
    case 'exit':
      throw new SandboxTrapError(functionName, `its sandbox worker exited (code ${outcome.code}) before replying`);
    case 'error': {
      const error = outcome.error;
      if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const heapMb = call.resourceLimits.maxOldGenerationSizeMb ?? 0;
        throw new SandboxMemoryError(functionName, 'worker-heap', `its worker's JavaScript heap reached its limit of ${heapMb} MiB`, heapMb * 1024 * 1024, 0, {
          cause: error,
        });
      }
      throw new SandboxTrapError(functionName, `its sandbox worker died: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    case 'reply':
      return outcome.reply;
  }
}

/** Terminates the worker and waits (at most the grace period) until it has exited. */
async function stopWorker(worker: Worker, exited: Promise<number>): Promise<boolean> {
  worker.terminate().catch(() => undefined);
  let grace: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    exited.then(() => true),
    new Promise<false>((resolve) => {
      grace = setTimeout(() => resolve(false), TERMINATE_GRACE_MS);
    }),
  ]);
  clearTimeout(grace);
  if (!stopped) worker.unref();
  return stopped;
}
