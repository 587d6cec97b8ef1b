import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError } from '../errors.js';
import { bundlePaths } from '../bundle/layout.js';
import { completeManifest, parseManifestDraft, serializeManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../bundle/atomic-write.js';
import { IGNORE_NOTHING, listModelFiles } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { hashFilesInParallel } from '../hashing/parallel-hash.js';
import type { FileDigest, HashResult } from '../release/types.js';
import { throttledHeartbeat } from './heartbeat.js';
import type { ActivityMetrics } from './deps.js';

export interface HashInput {
  readonly bundleDir: string;
  /** Worker threads for hashing (default: the cores available). */
  readonly workers?: number;
}

/** Heartbeat details; a retry picks up the files an earlier attempt finished. */
export interface HashCheckpoint {
  readonly done: readonly FileDigest[];
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/**
 * Streams every model file through SHA-256 (worker threads, one reused 1 MiB buffer each),
 * heartbeating bytes done and finished files, then completes model.yaml with the digests and
 * the root digest. A retry skips the files its checkpoint says are done. Bytes read go to
 * `metrics` as they are hashed, so a scrape during a long hash shows progress.
 */
export async function hashBundle(input: HashInput, metrics?: ActivityMetrics): Promise<HashResult> {
  const ctx = Context.current();
  const paths = bundlePaths(input.bundleDir);
  const draft = parseManifestDraft(await readFile(paths.manifest, 'utf8'));

  const onDisk = await listModelFiles(paths.modelDir, IGNORE_NOTHING);
  const listed = new Map(draft.files.map((f) => [f.path, f.size]));
  for (const file of onDisk) {
    if (listed.get(file.path) !== file.size) throw new ManifestError(`model/${file.path} changed after export (not in model.yaml, or a different size)`);
  }
  if (onDisk.length !== listed.size) throw new ManifestError(`model/ no longer holds every file model.yaml lists`);

  const previous = ctx.info.heartbeatDetails as HashCheckpoint | undefined;
  const resumed = new Map((previous?.done ?? []).map((d) => [d.path, d]));
  const bytesTotal = onDisk.reduce((n, f) => n + f.size, 0);
  const heartbeat = throttledHeartbeat();
  const finished = new Map<string, FileDigest>();
  let bytesDone = 0;
  // In canonical order, so a checkpoint reads the same whatever order the workers finished in.
  const checkpoint = (): HashCheckpoint => ({ done: onDisk.flatMap((f) => finished.get(f.path) ?? []), bytesDone, bytesTotal });
  const toHash: typeof onDisk = [];
  for (const file of onDisk) {
    const earlier = resumed.get(file.path);
    if (earlier && earlier.size === file.size) {
      finished.set(file.path, earlier);
      bytesDone += file.size;
    } else toHash.push(file);
  }
  // Files in parallel across cores; each digest is the file's plain SHA-256, so the result
  // does not depend on the number of workers. Each finished file is checkpointed at once.
  await hashFilesInParallel(paths.modelDir, toHash, {
    ...(input.workers ? { workers: input.workers } : {}),
    signal: ctx.cancellationSignal,
    onBytes: (bytes) => {
      bytesDone += bytes;
      metrics?.bytesHashed(bytes);
      heartbeat(checkpoint());
    },
    onFile: (file) => {
      finished.set(file.path, file);
      heartbeat(checkpoint(), true);
    },
  });
  const done = onDisk.map((f) => finished.get(f.path)!);
  if (resumed.size) ctx.log.info('hash resumed from checkpoint', { filesReused: resumed.size });

  const root = rootDigest(done);
  const manifestText = serializeManifest(completeManifest(draft, done, root));
  await writeFileAtomic(paths.manifest, manifestText);
  return { rootDigest: root, files: done, totalBytes: bytesTotal, manifestPath: paths.manifest, manifestSha256: sha256Hex(manifestText) };
}
