import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HashReply, HashRequest } from './hash-worker.js';
import { HASH_BUFFER_BYTES, sha256File } from './stream-hash.js';
import { combineShardDigests, shardCount, shardRange, type DigestRule } from './digest-rule.js';

export interface FileToHash {
  readonly path: string;
  readonly size: number;
}

export interface HashedFile extends FileToHash {
  /** The file digest under the rule (see digest-rule.ts). */
  readonly sha256: string;
}

export interface HashedShard {
  readonly path: string;
  readonly index: number;
  readonly sha256: string;
}

export interface ParallelHashOptions {
  readonly rule: DigestRule;
  /** Worker threads (default: the cores available, at most one per shard). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  /** Shards already hashed (a checkpoint): they are not read again. */
  readonly doneShards?: ReadonlyMap<string, ReadonlyMap<number, string>>;
  /** Bytes hashed since the last call, for progress. */
  readonly onBytes?: (bytes: number) => void;
  readonly onShard?: (shard: HashedShard) => void;
  readonly onFile?: (file: HashedFile) => void;
}

interface ShardTask {
  readonly file: FileToHash;
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

const WORKER_URL = new URL('./hash-worker.js', import.meta.url);
const IN_PROCESS_BYTES = 8 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;

/**
 * Digests of many files across worker threads. Work is cut into shards (whole files under
 * v1), queued largest file first so the pool finishes together; each file's digest is combined
 * from its shard digests once all are in, so results do not depend on the number of workers.
 * Each worker holds one 1 MiB buffer: memory stays flat whatever the model size.
 */
export async function hashFilesInParallel(root: string, files: readonly FileToHash[], options: ParallelHashOptions): Promise<HashedFile[]> {
  const { rule } = options;
  const shards = new Map<string, (string | undefined)[]>();
  const results = new Map<string, HashedFile>();
  const queue: ShardTask[] = [];
  const finishFile = async (file: FileToHash, sizeSeen?: number): Promise<void> => {
    // A file that grew or shrank while it was hashed is not the file we listed.
    const now = sizeSeen ?? (await stat(join(root, file.path))).size;
    if (now !== file.size) throw new Error(`${file.path} changed size while it was hashed (${file.size} → ${now} bytes)`);
    const hashed = { path: file.path, size: file.size, sha256: combineShardDigests(file.size, rule, shards.get(file.path) as string[]) };
    results.set(file.path, hashed);
    options.onFile?.(hashed);
  };

  const ready: FileToHash[] = [];
  for (const file of [...files].sort((a, b) => b.size - a.size)) {
    const count = shardCount(file.size, rule);
    const known = options.doneShards?.get(file.path);
    const digests = Array.from({ length: count }, (_, i) => known?.get(i));
    shards.set(file.path, digests);
    for (let i = 0; i < count; i++) if (digests[i] === undefined) queue.push({ file, index: i, ...shardRange(file.size, rule, i) });
    if (digests.every((d) => d !== undefined)) ready.push(file);
  }
  for (const file of ready) await finishFile(file);
  if (queue.length === 0) return files.map((f) => results.get(f.path)!);

  const queuedBytes = queue.reduce((n, t) => n + t.end - t.start, 0);
  if (queuedBytes <= IN_PROCESS_BYTES) {
    // Starting threads costs more than hashing a few MiB here.
    const buffer = Buffer.allocUnsafe(HASH_BUFFER_BYTES);
    for (const task of queue) {
      const { sha256, size } = await sha256File(join(root, task.file.path), { buffer, range: task, ...(options.signal ? { signal: options.signal } : {}) });
      if (size !== task.end - task.start) throw new Error(`${task.file.path} changed size while it was hashed (shard ${task.index} ended early)`);
      options.onBytes?.(size);
      const digests = shards.get(task.file.path)!;
      digests[task.index] = sha256;
      options.onShard?.({ path: task.file.path, index: task.index, sha256 });
      if (digests.every((d) => d !== undefined)) await finishFile(task.file);
    }
    return files.map((f) => results.get(f.path)!);
  }

  const count = Math.max(1, Math.min(options.workers ?? availableParallelism(), queue.length));
  const workers = Array.from({ length: count }, () => new Worker(WORKER_URL));
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const onAbort = () => fail(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('hashing cancelled'));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let nextId = 0;
      const inFlight = new Map<number, ShardTask>();
      let finishing = 0;
      const settleIfDone = () => {
        if (failed || active > 0 || finishing > 0 || queue.length > 0) return;
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const next = (worker: Worker) => {
        const task = queue.shift();
        if (!task || failed) return;
        active++;
        const id = nextId++;
        inFlight.set(id, task);
        worker.postMessage({ id, path: join(root, task.file.path), start: task.start, end: task.end } satisfies HashRequest);
      };
      const onMessage = (worker: Worker) => (reply: HashReply) => {
        if (failed) return;
        if (reply.kind === 'progress') return options.onBytes?.(reply.bytes);
        const task = inFlight.get(reply.id)!;
        inFlight.delete(reply.id);
        if (reply.kind === 'error') return fail(new Error(`${task.file.path}: ${reply.message}`));
        if (reply.size !== task.end - task.start || reply.fileSize !== task.file.size) return fail(new Error(`${task.file.path} changed size while it was hashed (shard ${task.index} ended early)`));
        const digests = shards.get(task.file.path)!;
        digests[task.index] = reply.sha256;
        options.onShard?.({ path: task.file.path, index: task.index, sha256: reply.sha256 });
        // Hand the worker its next task before the bookkeeping below, so it never idles on us.
        next(worker);
        active--;
        if (!digests.every((d) => d !== undefined)) return settleIfDone();
        finishing++;
        finishFile(task.file, reply.fileSize).then(
          () => {
            finishing--;
            settleIfDone();
          },
          (err: Error) => fail(err),
        );
      };
      for (const worker of workers) {
        worker.once('error', (err) => fail(err));
        worker.on('message', onMessage(worker));
        // Two requests in flight per thread: the next one is queued while the current one hashes.
        for (let depth = 0; depth < IN_FLIGHT_PER_WORKER; depth++) next(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return files.map((f) => results.get(f.path)!);
}
