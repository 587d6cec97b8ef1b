// The opt-in digest cache: what it trusts (the very same file, not touched since it was hashed)
// and what it refuses; incremental re-signing with `modelship sign --format oms --digest-cache`;
// and an incremental release on a worker with a cache.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, open, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DigestCache, nowNs, statIdentity } from '../src/hashing/digest-cache.js';
import { CURRENT_DIGEST_RULE } from '../src/hashing/digest-rule.js';
import { hashFilesWithCache } from '../src/hashing/cached-hash.js';
import { listModelFiles } from '../src/hashing/list-files.js';
import type { ExportResult, HashResult } from '../src/release/types.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { loadPublicKey } from '../src/crypto/keys.js';
import { PROJECT_ROOT, run, SAMPLE_MODEL, TempDirs } from './helpers/fixtures.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { activityResults } from './helpers/history.js';
import { coreutilsRootDigest } from './helpers/coreutils-digest.js';

const temp = new TempDirs();
after(() => temp.cleanup());

const HOUR_AGO = () => new Date(Date.now() - 3_600_000);

/** A model folder whose files were last written an hour ago (not "racy"). */
async function modelFolder(files: Record<string, Buffer>): Promise<string> {
  const dir = await temp.make('modelship-cache-model-');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    await utimes(join(dir, path), HOUR_AGO(), HOUR_AGO());
  }
  return dir;
}

async function hashWith(dir: string, cache: DigestCache) {
  return hashFilesWithCache(dir, await listModelFiles(dir), cache, { rule: CURRENT_DIGEST_RULE });
}

describe('DigestCache', () => {
  it('reuses the digest of an untouched file, across a save and a reopen', async () => {
    const dir = await modelFolder({ 'a.bin': randomBytes(3 << 20), 'b.txt': Buffer.from('hello') });
    const path = join(await temp.make('modelship-cache-'), 'digests.json');
    const first = await hashWith(dir, await DigestCache.open(path));
    assert.equal(first.bytesFromCache, 0);
    const cache = await DigestCache.open(path);
    assert.equal(cache.size, 0, 'nothing was saved yet');
    const again = await hashWith(dir, cache);
    await cache.save();
    const reopened = await DigestCache.open(path);
    assert.equal(reopened.size, 2);
    const third = await hashWith(dir, reopened);
    assert.equal(third.bytesHashed, 0);
    assert.equal(third.bytesFromCache, (3 << 20) + 5);
    assert.deepEqual(third.files, again.files);
    assert.deepEqual(third.files, first.files);
  });

  it('re-hashes a file rewritten in place with the same size and its old mtime put back (ctime moved)', async () => {
    const dir = await modelFolder({ 'w.bin': Buffer.alloc(1 << 20, 1) });
    const cache = await DigestCache.open(join(await temp.make('modelship-cache-'), 'c.json'));
    const before = await hashWith(dir, cache);
    const handle = await open(join(dir, 'w.bin'), 'r+');
    await handle.write(Buffer.from([7]), 0, 1, 12345);
    await handle.close();
    const old = HOUR_AGO();
    await utimes(join(dir, 'w.bin'), old, old);
    const after = await hashWith(dir, cache);
    assert.equal(after.bytesFromCache, 0);
    assert.notEqual(after.files[0]!.sha256, before.files[0]!.sha256);
  });

  it('does not trust a file hashed within the timestamp granularity of its last write ("racy")', async () => {
    const dir = await temp.make('modelship-cache-racy-');
    await writeFile(join(dir, 'fresh.bin'), 'just written');
    const cache = await DigestCache.open(join(dir, '..', `racy-${randomBytes(4).toString('hex')}.json`));
    await hashWith(dir, cache);
    assert.equal(cache.lookup(join(dir, 'fresh.bin'), await statIdentity(join(dir, 'fresh.bin')), CURRENT_DIGEST_RULE), undefined);
  });

  it('misses under another digest rule, and for a replaced file (new inode)', async () => {
    const dir = await modelFolder({ 'x.bin': Buffer.from('x') });
    const cache = await DigestCache.open(join(await temp.make('modelship-cache-'), 'c.json'));
    const path = join(dir, 'x.bin');
    cache.record(path, await statIdentity(path), CURRENT_DIGEST_RULE, 'a'.repeat(64), nowNs());
    assert.equal(cache.lookup(path, await statIdentity(path), CURRENT_DIGEST_RULE), 'a'.repeat(64));
    assert.equal(cache.lookup(path, await statIdentity(path), { name: 'modelship-root-v1' }), undefined);
    await writeFile(join(dir, 'y.bin'), 'x');
    await utimes(join(dir, 'y.bin'), HOUR_AGO(), HOUR_AGO());
    await copyFile(join(dir, 'y.bin'), join(dir, 'z.bin'));
    const { rename } = await import('node:fs/promises');
    await rename(join(dir, 'y.bin'), path);
    await utimes(path, HOUR_AGO(), HOUR_AGO());
    assert.equal(cache.lookup(path, await statIdentity(path), CURRENT_DIGEST_RULE), undefined);
  });

  it('an unreadable cache file is discarded with a reason, not fatal', async () => {
    const path = join(await temp.make('modelship-cache-'), 'broken.json');
    await writeFile(path, '{"format":"something else"');
    const cache = await DigestCache.open(path);
    assert.equal(cache.size, 0);
    assert.match(cache.discarded ?? '', /broken\.json/);
  });
});

describe('modelship sign --format oms --digest-cache', () => {
  it('re-signing after a README change re-hashes only the README, and the bundle still verifies', async () => {
    const dir = await modelFolder({ 'model.onnx': await readFile(SAMPLE_MODEL), 'weights/part-1.bin': randomBytes(20 << 20), 'weights/part-2.bin': randomBytes(20 << 20), 'README.md': Buffer.from('# v1\n') });
    const work = await temp.make('modelship-cache-oms-');
    const key = join(work, 'p256.pem');
    const pub = join(work, 'p256.pub.pem');
    assert.equal(run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]).status, 0);
    assert.equal(run('openssl', ['ec', '-in', key, '-pubout', '-out', pub]).status, 0);
    const cli = (...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin', 'modelship.js'), ...args]);
    const sign = () => {
      const r = cli('sign', dir, '--format', 'oms', '--key', key, '--out', join(work, 'model.sig'), '--digest-cache', join(work, 'cache.json'), '--json');
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { bytes: number; bytesHashed: number; bytesFromCache: number; subject: { sha256: string } };
    };
    const first = sign();
    assert.equal(first.bytesHashed, first.bytes);
    await appendFile(join(dir, 'README.md'), 'now with a changelog\n');
    const second = sign();
    assert.equal(second.bytesHashed, (await readFile(join(dir, 'README.md'))).length);
    assert.equal(second.bytesFromCache, second.bytes - second.bytesHashed);
    assert.notEqual(second.subject.sha256, first.subject.sha256);
    const verified = cli('verify', dir, '--format', 'oms', '--signature', join(work, 'model.sig'), '--key', pub, '--json');
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });
});

describe('a release on a worker with a digest cache', () => {
  let env: ReleaseEnv;
  let cachePath: string;
  before(async () => {
    cachePath = join(await temp.make('modelship-cache-worker-'), 'digests.json');
    env = await startReleaseEnv({ digestCachePath: cachePath });
  });
  after(async () => env?.stop());

  it('the next version after a README change hashes only the README; digests equal a clean hash', async () => {
    const dir = await modelFolder({ 'model.onnx': await readFile(SAMPLE_MODEL), 'weights.bin': randomBytes(96 << 20), 'README.md': Buffer.from('# model\n') });
    const releaseOf = async (version: string) => {
      const handle = await env.start(env.request({ version, source: { kind: 'onnx', path: dir }, canary: false }));
      const result = await handle.result();
      const [exported] = await activityResults<ExportResult>(handle, 'exportModel');
      const [hashed] = await activityResults<HashResult>(handle, 'hashBundle');
      return { result, exported: exported!, hashed: hashed! };
    };
    const v1 = await releaseOf('1.0.0');
    assert.equal(v1.exported.sourceHashing?.bytesFromCache, 0);
    assert.equal(v1.hashed.bytesFromCache, v1.hashed.totalBytes, "the hash stage reused export's digests of the untouched copies");
    assert.equal(v1.hashed.bytesHashed, 0);

    await appendFile(join(dir, 'README.md'), 'changed\n');
    const v2 = await releaseOf('1.0.1');
    const readme = (await readFile(join(dir, 'README.md'))).length;
    assert.equal(v2.exported.sourceHashing?.bytesHashed, readme, 'export read only the README');
    assert.equal(v2.exported.sourceHashing?.bytesFromCache, v2.hashed.totalBytes - readme);
    assert.equal(v2.hashed.bytesHashed, 0);
    // The digests the cache vouched for are the digests of the bytes in the bundle.
    const bundleDir = await env.bundleDirOf(v2.result);
    assert.equal(v2.result.rootDigest, coreutilsRootDigest(join(bundleDir, 'model')));
    assert.equal(v2.result.rootDigest, coreutilsRootDigest(dir));
    assert.equal((await verifyBundle(bundleDir, await loadPublicKey(env.key.publicKeyPath))).ok, true);
  });
});
