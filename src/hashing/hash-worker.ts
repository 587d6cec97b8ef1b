// Worker thread for parallel hashing: hashes the byte ranges (shards) it is sent, one at a
// time, with one reused buffer, and reports progress so the activity can heartbeat.
import { parentPort } from 'node:worker_threads';
import { HASH_CHUNK_BYTES, sha256File } from './stream-hash.js';

export type HashRequest = { readonly id: number; readonly path: string; readonly start: number; readonly end: number };
export type HashReply =
  | { readonly id: number; readonly kind: 'progress'; readonly bytes: number }
  | { readonly id: number; readonly kind: 'done'; readonly sha256: string; readonly size: number }
  | { readonly id: number; readonly kind: 'error'; readonly message: string };

const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
const PROGRESS_EVERY = 16 * HASH_CHUNK_BYTES;

parentPort!.on('message', (request: HashRequest) => {
  let reported = 0;
  sha256File(request.path, {
    buffer,
    range: { start: request.start, end: request.end },
    onProgress: ({ bytesDone }) => {
      if (bytesDone - reported >= PROGRESS_EVERY) {
        parentPort!.postMessage({ id: request.id, kind: 'progress', bytes: bytesDone - reported } satisfies HashReply);
        reported = bytesDone;
      }
    },
  }).then(
    ({ sha256, size }) => {
      if (size > reported) parentPort!.postMessage({ id: request.id, kind: 'progress', bytes: size - reported } satisfies HashReply);
      parentPort!.postMessage({ id: request.id, kind: 'done', sha256, size } satisfies HashReply);
    },
    (err: unknown) => parentPort!.postMessage({ id: request.id, kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies HashReply),
  );
});
