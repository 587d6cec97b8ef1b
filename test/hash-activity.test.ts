// The hash activity in isolation (MockActivityEnvironment): heartbeats, resume from a
// checkpoint after a crash, and cancellation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readFile, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { hashBundle, type HashCheckpoint } from '../src/activities/hash-bundle.js';
import type { HashResult } from '../src/release/types.js';
import { MANIFEST_API_VERSION, parseManifest, serializeManifest, type ManifestDraft } from '../src/bundle/manifest.js';
import { listModelFiles } from '../src/hashing/list-files.js';
import { CURRENT_DIGEST_RULE, DEFAULT_SHARD_BYTES } from '../src/hashing/digest-rule.js';
import { sha256File } from '../src/hashing/stream-hash.js';
import { coreutilsFileDigest, coreutilsRootDigest } from './helpers/coreutils-digest.js';

const made: string[] = [];
after(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function makeDraftBundle(files: Record<string, Buffer | number>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-hash-'));
  made.push(dir);
  await mkdir(join(dir, 'model'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, 'model', path);
    if (typeof content === 'number') {
      await writeFile(full, '');
      await truncate(full, content); // sparse: large without filling the disk
    } else await writeFile(full, content);
  }
  const draft: ManifestDraft = {
    apiVersion: MANIFEST_API_VERSION,
    kind: 'ModelManifest',
    name: 'm',
    version: '1',
    releaseId: 'release-m-1',
    createdAt: '2026-01-01T00:00:00.000Z',
    framework: { format: 'onnx', irVersion: 8, opsets: [], producer: { name: '', version: '' } },
    modelFile: 'a.onnx',
    signature: { inputs: [], outputs: [] },
    source: { uri: 'file:///src', sha256: '0'.repeat(64) },
    files: await listModelFiles(join(dir, 'model')),
  };
  await writeFile(join(dir, 'model.yaml'), serializeManifest(draft));
  return dir;
}

const coreutilsRoot = (modelDir: string) => coreutilsRootDigest(modelDir);

/** Distinct content per MiB (a sparse file would make every shard digest the same). */
function patterned(size: number): Buffer {
  const out = Buffer.alloc(size);
  const block = randomBytes(1 << 20);
  for (let at = 0; at < size; at += block.length) {
    block.writeUInt32LE(at / block.length, 0);
    block.copy(out, at, 0, Math.min(block.length, size - at));
  }
  return out;
}

describe('hashBundle activity', () => {
  let bundle: string;
  before(async () => {
    bundle = await makeDraftBundle({ 'a.onnx': randomBytes(3 << 20), 'weights.bin': randomBytes(9 << 20), 'README.md': Buffer.from('# m\n') });
  });

  it('hashes every file, heartbeats progress, and completes model.yaml with the coreutils root digest', async () => {
    const env = new MockActivityEnvironment();
    const beats: HashCheckpoint[] = [];
    env.on('heartbeat', (d: HashCheckpoint) => beats.push(d));
    const result: HashResult = await env.run(hashBundle, { bundleDir: bundle });
    assert.equal(result.rootDigest, coreutilsRoot(join(bundle, 'model')));
    assert.equal(result.totalBytes, (3 << 20) + (9 << 20) + 4);
    assert.ok(beats.length >= 3, 'at least one heartbeat per file');
    assert.equal(beats.at(-1)!.bytesDone, result.totalBytes);
    assert.deepEqual(beats.at(-1)!.done.map((d) => d.path), ['README.md', 'a.onnx', 'weights.bin']);
    const manifest = parseManifest(await readFile(join(bundle, 'model.yaml'), 'utf8'));
    assert.equal(manifest.digest.root, result.rootDigest);
  });

  it('resumes from the checkpoint of a crashed attempt instead of re-reading finished files', async () => {
    const first: HashResult = await new MockActivityEnvironment().run(hashBundle, { bundleDir: bundle });
    const weights = first.files.find((f) => f.path === 'weights.bin')!;
    // The checkpoint says weights.bin is done. Swap its bytes (same size): if the retry
    // re-read it, its digest would change; reusing the checkpoint keeps the recorded one.
    await writeFile(join(bundle, 'model', 'weights.bin'), randomBytes(9 << 20));
    const checkpoint: HashCheckpoint = { rule: CURRENT_DIGEST_RULE, done: [weights], partial: [], bytesDone: weights.size, bytesTotal: first.totalBytes };
    const beats: HashCheckpoint[] = [];
    const env = new MockActivityEnvironment({ heartbeatDetails: checkpoint, attempt: 2 });
    env.on('heartbeat', (d: HashCheckpoint) => beats.push(d));
    const resumed: HashResult = await env.run(hashBundle, { bundleDir: bundle });
    assert.equal(resumed.files.find((f) => f.path === 'weights.bin')!.sha256, weights.sha256);
    assert.equal(resumed.rootDigest, first.rootDigest);
    // The retry starts from the checkpoint's bytes: only README.md and a.onnx (3 MiB + 4 B of
    // 12 MiB + 4 B) are read again.
    assert.ok(beats[0]!.bytesDone >= weights.size, `first heartbeat at ${beats[0]!.bytesDone} bytes`);
    assert.equal(beats.at(-1)!.bytesDone, first.totalBytes);
    assert.equal(beats.at(-1)!.bytesDone - weights.size, (3 << 20) + 4);
  });

  it('gives the same digests and root with 1, 2 and 4 worker threads', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) files[`shard-${String(i).padStart(2, '0')}.bin`] = randomBytes((i + 1) * 97_000);
    const many = await makeDraftBundle(files);
    const results: HashResult[] = [];
    for (const workers of [1, 2, 4]) results.push(await new MockActivityEnvironment().run(hashBundle, { bundleDir: many, workers }));
    assert.equal(results[0]!.rootDigest, coreutilsRoot(join(many, 'model')));
    for (const r of results) assert.deepEqual(r.files, results[0]!.files);
  });

  it('hashes a large file in shards across threads: same digest as the coreutils recipe whatever the thread count', async () => {
    const size = 3 * DEFAULT_SHARD_BYTES + 12_345;
    const large = await makeDraftBundle({ 'a.onnx': Buffer.from('x'), 'weights.bin': patterned(size) });
    const results: HashResult[] = [];
    for (const workers of [1, 2, 3]) results.push(await new MockActivityEnvironment().run(hashBundle, { bundleDir: large, workers }));
    const weights = results[0]!.files.find((f) => f.path === 'weights.bin')!;
    assert.equal(weights.sha256, coreutilsFileDigest(join(large, 'model', 'weights.bin'), size));
    assert.notEqual(weights.sha256, (await sha256File(join(large, 'model', 'weights.bin'))).sha256, 'a 4-shard file does not have its plain SHA-256');
    assert.equal(results[0]!.rootDigest, coreutilsRoot(join(large, 'model')));
    for (const r of results) assert.deepEqual(r.files, results[0]!.files);
    const manifest = parseManifest(await readFile(join(large, 'model.yaml'), 'utf8'));
    assert.deepEqual([manifest.digest.rule, manifest.digest.shardBytes], ['modelship-root-v2', DEFAULT_SHARD_BYTES]);
  });

  it('resumes a large file from the shards its checkpoint lists, reading only the rest', async () => {
    const size = 4 * DEFAULT_SHARD_BYTES;
    const large = await makeDraftBundle({ 'a.onnx': Buffer.from('x'), 'weights.bin': patterned(size) });
    const path = join(large, 'model', 'weights.bin');
    const clean: HashResult = await new MockActivityEnvironment().run(hashBundle, { bundleDir: large });
    const shard = async (i: number) => (await sha256File(path, { range: { start: i * DEFAULT_SHARD_BYTES, end: (i + 1) * DEFAULT_SHARD_BYTES } })).sha256;
    const checkpoint: HashCheckpoint = {
      rule: CURRENT_DIGEST_RULE,
      done: [],
      partial: [{ path: 'weights.bin', size, shards: [[0, await shard(0)], [2, await shard(2)]] }],
      bytesDone: 2 * DEFAULT_SHARD_BYTES,
      bytesTotal: clean.totalBytes,
    };
    // Overwrite shards 0 and 2 (same size): a retry that re-read them would get another digest.
    const handle = await open(path, 'r+');
    await handle.write(Buffer.alloc(1024, 0xee), 0, 1024, 0);
    await handle.write(Buffer.alloc(1024, 0xee), 0, 1024, 2 * DEFAULT_SHARD_BYTES);
    await handle.close();
    const resumed: HashResult = await new MockActivityEnvironment({ heartbeatDetails: checkpoint, attempt: 2 }).run(hashBundle, { bundleDir: large });
    assert.equal(resumed.rootDigest, clean.rootDigest);
    assert.equal(resumed.bytesResumed, 2 * DEFAULT_SHARD_BYTES);
    assert.equal(resumed.bytesHashed, clean.totalBytes - 2 * DEFAULT_SHARD_BYTES);
    assert.equal(clean.bytesHashed, clean.totalBytes);
  });

  it('ignores a checkpoint taken under another digest rule', async () => {
    const small = await makeDraftBundle({ 'a.onnx': Buffer.from('abc') });
    const clean: HashResult = await new MockActivityEnvironment().run(hashBundle, { bundleDir: small });
    const stale = { rule: { name: 'modelship-root-v2', shardBytes: 2 * DEFAULT_SHARD_BYTES }, done: [{ path: 'a.onnx', size: 3, sha256: 'f'.repeat(64) }], partial: [], bytesDone: 3, bytesTotal: 3 };
    const resumed: HashResult = await new MockActivityEnvironment({ heartbeatDetails: stale, attempt: 2 }).run(hashBundle, { bundleDir: small });
    assert.equal(resumed.rootDigest, clean.rootDigest);
    assert.equal(resumed.bytesResumed, 0);
  });

  it('stops when cancelled and leaves the draft manifest as it was', async () => {
    const big = await makeDraftBundle({ 'a.onnx': Buffer.from('x'), 'huge.bin': 2 << 30 });
    const before = await readFile(join(big, 'model.yaml'), 'utf8');
    const env = new MockActivityEnvironment();
    env.once('heartbeat', () => env.cancel());
    await assert.rejects(env.run(hashBundle, { bundleDir: big }), (err: unknown) => err instanceof CancelledFailure);
    assert.equal(await readFile(join(big, 'model.yaml'), 'utf8'), before);
  });

  it('refuses a bundle whose files changed after export', async () => {
    const changed = await makeDraftBundle({ 'a.onnx': Buffer.from('abc') });
    await writeFile(join(changed, 'model', 'extra.bin'), 'sneaked in');
    await assert.rejects(new MockActivityEnvironment().run(hashBundle, { bundleDir: changed }), /model\/extra\.bin changed after export/);
  });
});
