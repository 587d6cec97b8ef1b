// The host's blob cache: what enters it unhashed (export's own files, linked in by `adopt`) is
// never used unchecked. A wrong entry is found at its next use, dropped and fetched again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, seededBytes, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { MemoryTarget } from '../src/store/memory-target.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { parseManifest } from '../src/oci/manifest.js';
import { describeBytes } from '../src/oci/descriptor.js';
import { DigestMismatchError } from '../src/errors/index.js';

const temp = new TempDirs();
let keys: TestKeys;
let bundleDir: string;
const BIG = 2 * 1024 * 1024;

before(async () => {
  keys = await makeKeys(await temp.make());
  bundleDir = await temp.make();
  await makeSignedBundle(bundleDir, keys.signingKey, { extraFiles: { 'weights/big.bin': seededBytes('cache', BIG) } });
});
after(() => temp.cleanup());

describe('blob cache', () => {
  it('adopt links the file in without copying it, and refuses a size that is not the descriptor\'s', async () => {
    const cache = new BlobCache(join(await temp.make(), 'cache'));
    const file = join(await temp.make(), 'w.bin');
    const bytes = seededBytes('adopt', 64 * 1024);
    await writeFile(file, bytes);
    const desc = describeBytes('application/octet-stream', bytes);
    await cache.adopt(desc, file, 'w.bin');
    assert.equal((await stat(cache.pathOf(desc))).ino, (await stat(file)).ino, 'a hard link on this file system, not a copy');
    assert.equal(await cache.verify(desc), 'verified');
    await assert.rejects(cache.adopt({ ...desc, size: desc.size + 1, digest: `sha256:${'0'.repeat(64)}` }, file, 'w.bin'), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.match(err.message, /w\.bin: expected sha256:0{64} \(65537 bytes\), the file holds 65536 bytes/);
      return true;
    });
  });

  it('a file adopted under the wrong digest is found at its next use, dropped, and fetched from the store', async () => {
    const target = new MemoryTarget();
    const cache = new BlobCache(join(await temp.make(), 'cache'));
    const store = new OciBundleStore({ cache, open: () => target });
    const pushed = await store.pushBundle(bundleDir, 'localhost:1/cache-test:1.0.0');
    const big = parseManifest(await target.fetch(pushed.manifest), 'm').layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === 'weights/big.bin')!;
    // Same size, other bytes: what adopt would take in if a file changed after export hashed it.
    const wrong = join(await temp.make(), 'wrong.bin');
    await writeFile(wrong, seededBytes('not-the-weights', BIG));
    await cache.adopt(big, wrong, 'weights/big.bin');

    const out = join(await temp.make(), 'b');
    const pulled = await store.pullBundle(pushed.reference, out);
    assert.ok(pulled.bytesFetched >= BIG, 'the wrong entry was fetched again');
    assert.deepEqual(await readFile(join(out, 'model', 'weights', 'big.bin')), await readFile(join(bundleDir, 'model', 'weights', 'big.bin')));
    assert.ok((await verifyBundle(out, keys.publicKey)).ok);
    assert.equal(await cache.verify(big), 'verified', 'the cache now holds the right bytes');
  });

  it('a small cached object whose bytes changed reads as absent and is fetched again', async () => {
    const target = new MemoryTarget();
    const cache = new BlobCache(join(await temp.make(), 'cache'));
    const store = new OciBundleStore({ cache, open: () => target });
    const pushed = await store.pushBundle(bundleDir, 'localhost:1/cache-small:1.0.0');
    await store.pullBundle(pushed.reference, join(await temp.make(), 'b'));
    // The signature's layer (model.jws) is now cached: change it on disk, keeping its size.
    const jws = await readFile(join(bundleDir, 'model.jws'));
    const desc = describeBytes('application/octet-stream', jws);
    assert.deepEqual(await cache.read(desc), jws);
    const tampered = Buffer.from(jws);
    tampered[10] = tampered[10]! ^ 1;
    await writeFile(cache.pathOf(desc), tampered);
    assert.equal(await cache.read(desc), undefined);
    const out = join(await temp.make(), 'b');
    await store.pullBundle(pushed.reference, out);
    assert.deepEqual(await readFile(join(out, 'model.jws')), jws);
    assert.ok((await verifyBundle(out, keys.publicKey)).ok);
  });
});
