// Worker thread for parallel hashing: hashes the byte ranges (shards) it is sent, one at a time,
// with one reused buffer, and reports progress so the activity can heartbeat. Reads are
// synchronous: this thread has nothing else to do, and skipping the libuv pool's round trips
// matters for folders of many small files. Overlapping reads with hashing here (double-buffered
// async reads, as sha256File does) gained nothing beyond noise and cost ~15% more CPU: with every
// core hashing there is no idle core for the reads (issue 21).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { HASH_CHUNK_BYTES } from './stream-hash.js';

export type HashRequest = { readonly id: number; readonly path: string; readonly start: number; readonly end: number };
export type HashReply =
  | { readonly id: number; readonly kind: 'progress'; readonly bytes: number }
  /** `fileSize`: the file's size when the range was read (to catch files that changed). */
  | { readonly id: number; readonly kind: 'done'; readonly sha256: string; readonly size: number; readonly fileSize: number }
  | { readonly id: number; readonly kind: 'error'; readonly message: string };

const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
const PROGRESS_EVERY = 16 * HASH_CHUNK_BYTES;

parentPort!.on('message', (request: HashRequest) => {
  try {
    parentPort!.postMessage(hashRange(request) satisfies HashReply);
  } catch (err) {
    parentPort!.postMessage({ id: request.id, kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies HashReply);
  }
});

function hashRange(request: HashRequest): HashReply {
  const fd = openSync(request.path, 'r');
  try {
    const hash = createHash('sha256');
    const total = request.end - request.start;
    let done = 0;
    let reported = 0;
    while (done < total) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, total - done), request.start + done);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      done += read;
      if (done - reported >= PROGRESS_EVERY) {
        parentPort!.postMessage({ id: request.id, kind: 'progress', bytes: done - reported } satisfies HashReply);
        reported = done;
      }
    }
    if (done > reported) parentPort!.postMessage({ id: request.id, kind: 'progress', bytes: done - reported } satisfies HashReply);
    return { id: request.id, kind: 'done', sha256: hash.digest('hex'), size: done, fileSize: fstatSync(fd).size };
  } finally {
    closeSync(fd);
  }
}
