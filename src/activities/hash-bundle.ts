import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManifestError } from '../errors.js';
import { bundlePaths } from '../bundle/layout.js';
import { completeManifest, parseManifestDraft, serializeManifest } from '../bundle/manifest.js';
import { writeFileAtomic } from '../bundle/atomic-write.js';
import { IGNORE_NOTHING, listModelFiles } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { HASH_CHUNK_BYTES, sha256File, sha256Hex } from '../hashing/stream-hash.js';
import type { FileDigest, HashResult } from '../release/types.js';
import { throttledHeartbeat } from './heartbeat.js';

export interface HashInput {
  readonly bundleDir: string;
}

/** Heartbeat details; a retry picks up the files an earlier attempt finished. */
export interface HashCheckpoint {
  readonly done: readonly FileDigest[];
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly currentFile?: string;
}

/**
 * Streams every model file through SHA-256 (one reused 1 MiB buffer), heartbeating bytes
 * done, then completes model.yaml with the digests and the root digest.
 */
export async function hashBundle(input: HashInput): Promise<HashResult> {
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
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const done: FileDigest[] = [];
  let bytesBefore = 0;
  for (const file of onDisk) {
    const earlier = resumed.get(file.path);
    if (earlier && earlier.size === file.size) {
      done.push(earlier);
    } else {
      const { sha256, size } = await sha256File(join(paths.modelDir, file.path), {
        buffer,
        signal: ctx.cancellationSignal,
        onProgress: (p) => heartbeat({ done, bytesDone: bytesBefore + p.bytesDone, bytesTotal, currentFile: file.path } satisfies HashCheckpoint),
      });
      if (size !== file.size) throw new ManifestError(`model/${file.path} changed size while it was hashed`);
      done.push({ path: file.path, size, sha256 });
    }
    bytesBefore += file.size;
    heartbeat({ done, bytesDone: bytesBefore, bytesTotal } satisfies HashCheckpoint, true);
  }
  if (resumed.size) ctx.log.info('hash resumed from checkpoint', { filesReused: resumed.size });

  const root = rootDigest(done);
  const manifestText = serializeManifest(completeManifest(draft, done, root));
  await writeFileAtomic(paths.manifest, manifestText);
  return { rootDigest: root, files: done, totalBytes: bytesTotal, manifestPath: paths.manifest, manifestSha256: sha256Hex(manifestText) };
}
