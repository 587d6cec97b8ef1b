import { constants } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashFilesWithCache } from '../hashing/cached-hash.js';
import { sameIdentity, statIdentity, type DigestCache } from '../hashing/digest-cache.js';
import type { DigestRule } from '../hashing/digest-rule.js';
import type { FileToHash, HashedFile } from '../hashing/parallel-hash.js';
import type { ExportedFile } from '../release/types.js';

export interface CopySourceOptions {
  readonly rule: DigestRule;
  readonly cache?: DigestCache;
  readonly signal?: AbortSignal;
  readonly onProgress?: (step: string) => void;
}

export interface CopiedSource {
  /** Digests of the source files (from the cache, or hashed here). */
  readonly files: readonly HashedFile[];
  /** The same digests for the copies, with each copy's identity, so the hash stage can reuse them. */
  readonly known: readonly ExportedFile[];
  readonly bytesHashed: number;
  readonly bytesFromCache: number;
}

/**
 * Copies a model's files into the bundle and digests the source. Copies are reflinks where the
 * file system supports them (instant, no extra space), kernel copies otherwise. A source file
 * that changed between its digest and the end of its copy is refused, so the digest describes
 * the bytes the bundle holds.
 */
export async function copySourceFiles(root: string, files: readonly FileToHash[], destDir: string, options: CopySourceOptions): Promise<CopiedSource> {
  options.onProgress?.('hash-source');
  const hashed = await hashFilesWithCache(root, files, options.cache, { rule: options.rule, ...(options.signal ? { signal: options.signal } : {}) });
  const known: ExportedFile[] = [];
  for (const file of hashed.files) {
    options.signal?.throwIfAborted();
    const from = join(root, file.path);
    const to = join(destDir, file.path);
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to, constants.COPYFILE_FICLONE);
    if (!sameIdentity(hashed.identities.get(file.path)!, await statIdentity(from))) {
      throw new Error(`${from} changed while it was being released; try again once nothing writes to it`);
    }
    known.push({ path: file.path, size: file.size, sha256: file.sha256, identity: await statIdentity(to) });
    options.onProgress?.(`copied ${file.path}`);
  }
  return { files: hashed.files, known, bytesHashed: hashed.bytesHashed, bytesFromCache: hashed.bytesFromCache };
}
