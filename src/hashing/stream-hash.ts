import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size for streaming hashes: large enough for disk speed, small enough to keep memory flat. */
export const HASH_CHUNK_BYTES = 1 << 20;

export interface HashProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface StreamHashOptions {
  /** Called after every chunk; callers throttle what they do with it. */
  readonly onProgress?: (progress: HashProgress) => void;
  readonly signal?: AbortSignal;
  /** Reused between files by callers that hash many, so a whole run holds one buffer. */
  readonly buffer?: Buffer;
  /** Hash only bytes [start, end) (a shard); the file must reach `end`. */
  readonly range?: { readonly start: number; readonly end: number };
}

/**
 * SHA-256 of a file read in fixed-size chunks into one reused buffer: memory stays at one
 * chunk whatever the file size. Returns lowercase hex and the byte count actually read.
 */
export async function sha256File(path: string, options: StreamHashOptions = {}): Promise<{ sha256: string; size: number }> {
  const buffer = options.buffer ?? Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  if (buffer.length === 0) throw new RangeError('sha256File needs a non-empty read buffer');
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const range = options.range;
    const bytesTotal = range ? range.end - range.start : (await handle.stat()).size;
    let bytesDone = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const want = range ? Math.min(buffer.length, bytesTotal - bytesDone) : buffer.length;
      if (want === 0) break;
      const { bytesRead } = await handle.read(buffer, 0, want, range ? range.start + bytesDone : null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytesDone += bytesRead;
      options.onProgress?.({ bytesDone, bytesTotal });
    }
    return { sha256: hash.digest('hex'), size: bytesDone };
  } finally {
    await handle.close();
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
