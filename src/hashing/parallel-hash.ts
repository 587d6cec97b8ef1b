import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { HashReply } from './hash-worker.js';

export interface FileToHash {
  readonly path: string;
  readonly size: number;
}

export interface HashedFile extends FileToHash {
  readonly sha256: string;
}

export interface ParallelHashOptions {
  /** Worker threads (default: the cores available, at most one per file). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  /** Bytes hashed since the last call, for progress. */
  readonly onBytes?: (bytes: number) => void;
  readonly onFile?: (file: HashedFile) => void;
}

const WORKER_URL = new URL('./hash-worker.js', import.meta.url);

/**
 * SHA-256 of many files across worker threads, largest first so the pool finishes together.
 * Each file's digest is the plain SHA-256 of its bytes, so results (and the root digest over
 * them) do not depend on how many workers ran. A single file still uses one core.
 */
export async function hashFilesInParallel(root: string, files: readonly FileToHash[], options: ParallelHashOptions = {}): Promise<HashedFile[]> {
  if (files.length === 0) return [];
  const count = Math.max(1, Math.min(options.workers ?? availableParallelism(), files.length));
  const queue = [...files].sort((a, b) => b.size - a.size);
  const results = new Map<string, HashedFile>();
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
      const next = (worker: Worker) => {
        const file = queue.shift();
        if (!file || failed) {
          if (active === 0 && !failed) {
            options.signal?.removeEventListener('abort', onAbort);
            resolve();
          }
          return;
        }
        active++;
        worker.postMessage({ id: 0, path: join(root, file.path) });
        const onMessage = (reply: HashReply) => {
          if (reply.kind === 'progress') return options.onBytes?.(reply.bytes);
          worker.off('message', onMessage);
          active--;
          if (reply.kind === 'error') return fail(new Error(`${file.path}: ${reply.message}`));
          if (reply.size !== file.size) return fail(new Error(`${file.path} changed size while it was hashed`));
          const hashed = { path: file.path, size: reply.size, sha256: reply.sha256 };
          results.set(file.path, hashed);
          options.onFile?.(hashed);
          next(worker);
        };
        worker.on('message', onMessage);
      };
      for (const worker of workers) {
        worker.once('error', (err) => fail(err));
        next(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return files.map((f) => results.get(f.path)!);
}
