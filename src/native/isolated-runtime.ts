/**
 * Runs onnxruntime-node in a child process under a memory ceiling and a deadline, one request
 * per process. A model that makes onnxruntime crash (SIGSEGV, abort), allocate without bound or
 * hang then fails that one call with a NativeRuntimeFailure naming what happened, and the worker
 * goes on serving other activities.
 *
 * The ceiling is enforced twice: the child starts under RLIMIT_DATA (through util-linux's
 * `prlimit`, so allocations past it fail inside onnxruntime), and its resident size is sampled
 * so a process that gets past the rlimit (file-backed or shared pages) is killed at the ceiling.
 */
import { externalDataDir } from './external-data-dir.js';
import { forNativeFromMemory } from '../onnx/inline-external-data.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeRuntimeFailure } from '../errors/index.js';
import type { NativeReply, NativeRequest } from './protocol.js';
import { inMemoryFolder, resolveExternalData, type InMemoryExternalData, type ModelFolder } from '../onnx/external-data.js';

export interface NativeLimits {
  /** Most memory the child may use (data segment and resident size), in bytes. */
  readonly memoryBytes: number;
  /** Wall-clock deadline for the whole call, child start-up included. */
  readonly timeoutMs: number;
}

export const DEFAULT_NATIVE_MEMORY_MIB = 8192;

/** The worker's ceiling: MODELSHIP_NATIVE_MEMORY_MIB, else 8 GiB. */
export function nativeMemoryBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MODELSHIP_NATIVE_MEMORY_MIB;
  const mib = raw === undefined || raw === '' ? DEFAULT_NATIVE_MEMORY_MIB : Number(raw);
  if (!Number.isInteger(mib) || mib < 64) throw new Error(`MODELSHIP_NATIVE_MEMORY_MIB must be a whole number of MiB, at least 64 (got ${JSON.stringify(raw)})`);
  return mib * 1024 * 1024;
}

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));
const SAMPLE_MS = 50;
const STDERR_TAIL_BYTES = 4096;
/** What onnxruntime, the C++ runtime and V8 print or throw when an allocation fails. */
const ALLOCATION_FAILED = /bad_alloc|failed to allocate|allocation failed|out of memory|cannot allocate/i;
const PAGE_BYTES = 4096;

let prlimitPath: string | null | undefined;
function prlimit(): string | null {
  if (prlimitPath === undefined) {
    const found = spawnSync('sh', ['-c', 'command -v prlimit'], { encoding: 'utf8' });
    prlimitPath = found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
  }
  return prlimitPath;
}

async function residentBytes(pid: number): Promise<number | null> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, 'utf8');
    return Number(statm.split(' ')[1]) * PAGE_BYTES;
  } catch {
    return null;
  }
}

const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

type Ending =
  | { readonly kind: 'reply'; readonly reply: NativeReply }
  | { readonly kind: 'exit'; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly kind: 'killed'; readonly why: 'timeout' | 'memory' | 'cancelled'; readonly residentBytes?: number }
  | { readonly kind: 'spawn-error'; readonly error: Error };

/**
 * Sends one request to a fresh onnxruntime child and returns its reply, or throws
 * NativeRuntimeFailure. The model's external data is first resolved against its source
 * (ExternalDataRefusedError if a reference is not one of its files); without one, a model with
 * external data is refused.
 *
 * The child loads the model from the bytes given (the ones the caller read and verified), and
 * onnxruntime would resolve their external data against the process's working directory. A
 * verified bundle's external data is handed over as the bytes verification read (nothing is read
 * from disk again); from a folder (export, before anything is signed), onnxruntime is told the
 * model file's own folder to read it from, and the child runs in that folder. Otherwise the child
 * runs in a fresh empty folder: never in the worker's working directory, whatever the resolver
 * might have missed.
 */
export async function callNativeRuntime(request: NativeRequest, limits: NativeLimits, signal?: AbortSignal, source?: ModelFolder | InMemoryExternalData): Promise<NativeReply> {
  signal?.throwIfAborted();
  const inMemory = source && 'externalData' in source ? source : undefined;
  const folder = source && !('externalData' in source) ? source : undefined;
  resolveExternalData(request.model, folder ?? (inMemory ? inMemoryFolder(inMemory) : { modelFile: '(model bytes)', files: [] }));
  if (inMemory) request = { ...request, ...forNativeFromMemory(request.model, inMemory.externalData) };
  const emptyDir = folder ? undefined : await mkdtemp(join(tmpdir(), 'modelship-native-'));
  const external = folder ? await externalDataDir(request.model, folder) : undefined;
  const dir = external ? external.dir : emptyDir!;
  try {
    const call: NativeRequest = inMemory ? request : { ...request, externalDataDir: dir };
    return await callInFolder(call, limits, dir, signal);
  } finally {
    if (emptyDir) await rm(emptyDir, { recursive: true, force: true });
    await external?.release();
  }
}

async function callInFolder(request: NativeRequest, limits: NativeLimits, cwd: string, signal?: AbortSignal): Promise<NativeReply> {
  const node = [process.execPath, '--no-warnings', CHILD_ENTRY];
  const wrapper = prlimit();
  const [command, ...args] = wrapper ? [wrapper, `--data=${limits.memoryBytes}`, '--', ...node] : node;
  const child = spawn(command!, args, {
    cwd,
    // Nothing of the worker's environment (passphrases, credentials) reaches onnxruntime.
    env: {},
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });

  const timers: NodeJS.Timeout[] = [];
  let onAbort: (() => void) | undefined;
  const ending = await new Promise<Ending>((resolve) => {
    const kill = (why: 'timeout' | 'memory' | 'cancelled', resident?: number) => {
      child.kill('SIGKILL');
      resolve({ kind: 'killed', why, ...(resident !== undefined ? { residentBytes: resident } : {}) });
    };
    child.once('message', (reply: NativeReply) => resolve({ kind: 'reply', reply }));
    // A reply sent just before exiting may be delivered after 'exit' (under load, long after):
    // 'close' comes once every stdio stream, the IPC channel included, has been drained, so a
    // reply still in the pipe is read before the child counts as gone without one.
    child.once('close', (code, sig) => resolve({ kind: 'exit', code, signal: sig }));
    child.once('error', (error) => resolve({ kind: 'spawn-error', error }));
    timers.push(setTimeout(() => kill('timeout'), limits.timeoutMs));
    let sampling = false;
    timers.push(
      setInterval(() => {
        if (sampling || child.pid === undefined) return;
        sampling = true;
        void residentBytes(child.pid).then((bytes) => {
          sampling = false;
          if (bytes !== null && bytes > limits.memoryBytes) kill('memory', bytes);
        });
      }, SAMPLE_MS),
    );
    onAbort = () => kill('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.send(request);
  });
  for (const t of timers) clearTimeout(t);
  if (onAbort) signal?.removeEventListener('abort', onAbort);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');

  switch (ending.kind) {
    case 'reply':
      if (!ending.reply.ok && ALLOCATION_FAILED.test(ending.reply.message)) {
        throw nativeRuntimeFailure('memory', `onnxruntime ran out of memory under its ceiling of ${mib(limits.memoryBytes)} (${ending.reply.message}); raise MODELSHIP_NATIVE_MEMORY_MIB on the worker if the model needs more`);
      }
      return ending.reply;
    case 'killed':
      if (ending.why === 'cancelled') throw signal?.reason ?? new Error('cancelled');
      if (ending.why === 'timeout') {
        throw nativeRuntimeFailure('timeout', `onnxruntime did not answer within ${limits.timeoutMs} ms and was stopped; raise the smoke timeout (--smoke-timeout) if the model needs longer`);
      }
      throw nativeRuntimeFailure('memory', `onnxruntime used ${mib(ending.residentBytes ?? 0)}, above its ceiling of ${mib(limits.memoryBytes)}, and was stopped; raise MODELSHIP_NATIVE_MEMORY_MIB on the worker if the model needs more`);
    case 'spawn-error':
      throw nativeRuntimeFailure('crashed', `the onnxruntime child process could not start: ${ending.error.message}`);
    case 'exit': {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
      if (ALLOCATION_FAILED.test(stderr)) {
        throw nativeRuntimeFailure('memory', `onnxruntime ran out of memory under its ceiling of ${mib(limits.memoryBytes)} and exited (${tail}); raise MODELSHIP_NATIVE_MEMORY_MIB on the worker if the model needs more`);
      }
      const how = ending.signal ? `was killed by ${ending.signal}` : `exited with code ${ending.code}`;
      throw nativeRuntimeFailure('crashed', `onnxruntime's child process ${how} before answering${tail ? `: ${tail}` : ''}; the worker is unaffected`);
    }
  }
}
