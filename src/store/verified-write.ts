import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError } from '../errors/index.js';
import type { Descriptor, Digest } from '../oci/descriptor.js';
import type { TransferOptions } from './target.js';

/** A pass-through that hashes and counts what flows, reporting progress. */
export function hashingTap(onProgress?: (bytes: number) => void) {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      done(null, chunk);
    },
  });
  return { tap, result: () => ({ digest: `sha256:${hash.digest('hex')}` as Digest, size: bytes }) };
}

/**
 * Writes a stream to `path` through a temporary file, checking digest and size before the rename,
 * so `path` only ever holds verified bytes. `what` names the object in a mismatch error.
 */
export async function writeVerified(source: Readable | AsyncIterable<Uint8Array>, desc: Pick<Descriptor, 'digest' | 'size'>, path: string, what: string, options: TransferOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomUUID().slice(0, 8)}.partial`;
  const { tap, result } = hashingTap(options.onProgress);
  try {
    await pipeline(source, tap, createWriteStream(temp), ...(options.signal ? [{ signal: options.signal }] : []));
    const got = result();
    if (got.digest !== desc.digest || got.size !== desc.size) {
      throw new DigestMismatchError(`${what}: expected ${desc.digest} (${desc.size} bytes), got ${got.digest} (${got.size} bytes)`);
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Reads a file once, returning its digest and size. */
export async function digestFile(path: string, options: TransferOptions = {}): Promise<{ digest: Digest; size: number }> {
  const { tap, result } = hashingTap(options.onProgress);
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), tap, async function* (chunks) {
    for await (const _ of chunks) yield* [];
  }, ...(options.signal ? [{ signal: options.signal }] : []));
  return result();
}
