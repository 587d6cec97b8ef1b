import { join, resolve } from 'node:path';
import { hashFilesInParallel, type FileToHash, type HashedFile, type ParallelHashOptions } from './parallel-hash.js';
import { nowNs, sameIdentity, statIdentity, type DigestCache, type FileIdentity } from './digest-cache.js';

export interface CachedHashResult {
  readonly files: readonly HashedFile[];
  /** Each file's identity before it was read: what a copy or a later lookup is checked against. */
  readonly identities: ReadonlyMap<string, FileIdentity>;
  readonly bytesHashed: number;
  readonly bytesFromCache: number;
}

/**
 * Digests of `files` under `root`: from the cache where it holds the very same file, hashed in
 * parallel otherwise (and then recorded). A file whose identity changed between the stat before
 * and the stat after hashing is refused: its digest would describe bytes no longer there.
 */
export async function hashFilesWithCache(
  root: string,
  files: readonly FileToHash[],
  cache: DigestCache | undefined,
  options: ParallelHashOptions,
): Promise<CachedHashResult> {
  const startedAtNs = nowNs();
  const identities = new Map<string, FileIdentity>();
  const fromCache = new Map<string, HashedFile>();
  const misses: FileToHash[] = [];
  for (const file of files) {
    const identity = await statIdentity(join(root, file.path));
    identities.set(file.path, identity);
    const cached = cache?.lookup(resolve(root, file.path), identity, options.rule);
    if (cached && identity.size === file.size) fromCache.set(file.path, { ...file, sha256: cached });
    else misses.push(file);
  }
  let bytesHashed = 0;
  const hashed = await hashFilesInParallel(root, misses, {
    ...options,
    onBytes: (bytes) => {
      bytesHashed += bytes;
      options.onBytes?.(bytes);
    },
  });
  for (const file of hashed) {
    const before = identities.get(file.path)!;
    if (!sameIdentity(before, await statIdentity(join(root, file.path)))) throw new Error(`${file.path} changed while it was hashed; try again once nothing writes to it`);
    cache?.record(resolve(root, file.path), before, options.rule, file.sha256, startedAtNs);
  }
  const byPath = new Map([...fromCache, ...hashed.map((f) => [f.path, f] as const)]);
  return {
    files: files.map((f) => byPath.get(f.path)!),
    identities,
    bytesHashed,
    bytesFromCache: [...fromCache.values()].reduce((n, f) => n + f.size, 0),
  };
}
