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
  const before = await mapInBatches(files, (f) => statIdentity(join(root, f.path)));
  for (const [i, file] of files.entries()) {
    const identity = before[i]!;
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
  const afterHash = await mapInBatches(hashed, (f) => statIdentity(join(root, f.path)));
  for (const [i, file] of hashed.entries()) {
    const identity = identities.get(file.path)!;
    if (!sameIdentity(identity, afterHash[i]!)) throw new Error(`${file.path} changed while it was hashed; try again once nothing writes to it`);
    cache?.record(resolve(root, file.path), identity, options.rule, file.sha256, startedAtNs);
  }
  const byPath = new Map([...fromCache, ...hashed.map((f) => [f.path, f] as const)]);
  return {
    files: files.map((f) => byPath.get(f.path)!),
    identities,
    bytesHashed,
    bytesFromCache: [...fromCache.values()].reduce((n, f) => n + f.size, 0),
  };
}

/** `fn` over `items`, a batch at a time: stats of many small files overlap instead of queueing one by one. */
async function mapInBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, batch = 64): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += batch) out.push(...(await Promise.all(items.slice(i, i + batch).map(fn))));
  return out;
}
