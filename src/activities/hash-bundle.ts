import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { ManifestError } from '../errors/index.js';
import { bundlePaths } from '../bundle/layout.js';
import { completeManifest, parseManifestDraft, serializeManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../atomic-write.js';
import { IGNORE_NOTHING, listModelFiles } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { hashFilesInParallel } from '../hashing/parallel-hash.js';
import { CURRENT_DIGEST_RULE, describeDigestRule, sameDigestRule, shardRange, type DigestRule } from '../hashing/digest-rule.js';
import type { ExportedFile, FileDigest, HashResult } from '../release/types.js';
import { sameIdentity, statIdentity } from '../hashing/digest-cache.js';
import { join } from 'node:path';
import { throttledHeartbeat } from './heartbeat.js';
import type { ActivityMetrics } from './deps.js';

export interface HashInput {
  readonly bundleDir: string;
  /** Worker threads for hashing (default: the worker's setting, else the cores available). */
  readonly workers?: number;
  /** Export's digests of the copies it wrote; reused when the worker has a digest cache and the copy is untouched. */
  readonly known?: readonly ExportedFile[];
}

/** A file partly hashed when the checkpoint was taken: the shards already done. */
export interface PartialFile {
  readonly path: string;
  readonly size: number;
  readonly shards: ReadonlyArray<readonly [index: number, sha256: string]>;
}

/** Heartbeat details; a retry skips the files and shards an earlier attempt finished. */
export interface HashCheckpoint {
  readonly rule: DigestRule;
  readonly done: readonly FileDigest[];
  readonly partial: readonly PartialFile[];
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface HashSettings {
  /** Default worker threads when the workflow does not say. */
  readonly workers?: number;
  /** Bytes read go here as they are hashed, so a scrape during a long hash shows progress. */
  readonly metrics?: ActivityMetrics;
  /** Reuse export's digests (the worker has a digest cache: caching was asked for). */
  readonly reuseKnown?: boolean;
}

/**
 * Hashes every model file under the current digest rule (shards across worker threads, one
 * reused 1 MiB buffer each), heartbeating finished files and shards as a checkpoint, then
 * completes model.yaml with the digests and the root digest. A retry after a crash reads only
 * what its checkpoint does not cover.
 */
export async function hashBundle(input: HashInput, settings: HashSettings = {}): Promise<HashResult> {
  const ctx = Context.current();
  const rule = CURRENT_DIGEST_RULE;
  const paths = bundlePaths(input.bundleDir);
  const draft = parseManifestDraft(await readFile(paths.manifest, 'utf8'));

  const onDisk = await listModelFiles(paths.modelDir, IGNORE_NOTHING);
  const listed = new Map(draft.files.map((f) => [f.path, f.size]));
  for (const file of onDisk) {
    if (listed.get(file.path) !== file.size) throw new ManifestError(`model/${file.path} changed after export (not in model.yaml, or a different size)`);
  }
  if (onDisk.length !== listed.size) throw new ManifestError(`model/ no longer holds every file model.yaml lists`);
  const sizes = new Map(onDisk.map((f) => [f.path, f.size]));
  const bytesTotal = onDisk.reduce((n, f) => n + f.size, 0);

  const finished = new Map<string, FileDigest>();
  const shardsDone = new Map<string, Map<number, string>>();
  let bytesResumed = 0;
  const previous = usableCheckpoint(ctx.info.heartbeatDetails, rule);
  for (const file of previous?.done ?? []) {
    if (sizes.get(file.path) !== file.size) continue;
    finished.set(file.path, file);
    bytesResumed += file.size;
  }
  for (const partial of previous?.partial ?? []) {
    if (sizes.get(partial.path) !== partial.size || finished.has(partial.path)) continue;
    const known = new Map(partial.shards);
    shardsDone.set(partial.path, known);
    for (const index of known.keys()) {
      const { start, end } = shardRange(partial.size, rule, index);
      bytesResumed += end - start;
    }
  }

  let bytesFromCache = 0;
  if (settings.reuseKnown) {
    for (const known of input.known ?? []) {
      if (!known.sha256 || !known.identity || finished.has(known.path) || sizes.get(known.path) !== known.size) continue;
      const identity = await statIdentity(join(paths.modelDir, known.path)).catch(() => undefined);
      if (!identity || !sameIdentity(identity, known.identity)) continue;
      finished.set(known.path, { path: known.path, size: known.size, sha256: known.sha256 });
      shardsDone.delete(known.path);
      bytesFromCache += known.size;
    }
  }

  let bytesHashed = 0;
  const heartbeat = throttledHeartbeat();
  // In canonical order, so a checkpoint reads the same whatever order the workers finished in.
  const checkpoint = (): HashCheckpoint => ({
    rule,
    done: onDisk.flatMap((f) => finished.get(f.path) ?? []),
    partial: onDisk.flatMap((f) => {
      const known = shardsDone.get(f.path);
      return known && !finished.has(f.path) && known.size ? [{ path: f.path, size: f.size, shards: [...known].sort((a, b) => a[0] - b[0]) }] : [];
    }),
    bytesDone: bytesResumed + bytesFromCache + bytesHashed,
    bytesTotal,
  });
  const workers = input.workers ?? settings.workers;
  await hashFilesInParallel(paths.modelDir, onDisk.filter((f) => !finished.has(f.path)), {
    rule,
    ...(workers ? { workers } : {}),
    signal: ctx.cancellationSignal,
    doneShards: shardsDone,
    onBytes: (bytes) => {
      bytesHashed += bytes;
      settings.metrics?.bytesHashed(bytes);
      heartbeat(checkpoint());
    },
    onShard: (shard) => {
      let known = shardsDone.get(shard.path);
      if (!known) shardsDone.set(shard.path, (known = new Map()));
      known.set(shard.index, shard.sha256);
      heartbeat(checkpoint(), true);
    },
    onFile: (file) => {
      finished.set(file.path, file);
      shardsDone.delete(file.path);
      heartbeat(checkpoint(), true);
    },
  });
  const done = onDisk.map((f) => finished.get(f.path)!);
  if (bytesResumed) ctx.log.info('hash resumed from checkpoint', { bytesResumed, bytesHashed, bytesTotal });

  const root = rootDigest(done);
  const manifestText = serializeManifest(completeManifest(draft, done, root, rule));
  await writeFileAtomic(paths.manifest, manifestText);
  return {
    rootDigest: root,
    files: done,
    totalBytes: bytesTotal,
    manifestPath: paths.manifest,
    manifestSha256: sha256Hex(manifestText),
    rule: describeDigestRule(rule),
    bytesHashed,
    bytesResumed,
    bytesFromCache,
  };
}

/** An earlier attempt's checkpoint, if it was taken under the same rule (older ones are ignored). */
function usableCheckpoint(details: unknown, rule: DigestRule): HashCheckpoint | undefined {
  const checkpoint = details as Partial<HashCheckpoint> | undefined;
  if (!checkpoint?.rule || !sameDigestRule(checkpoint.rule, rule) || !Array.isArray(checkpoint.done)) return undefined;
  return { ...checkpoint, partial: Array.isArray(checkpoint.partial) ? checkpoint.partial : [] } as HashCheckpoint;
}
