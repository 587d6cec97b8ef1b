// The bundle store over the in-process targets (memory, OCI layout folder): the same code the
// registry runs, checked end to end with the real bundle verifier.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, seededBytes, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { MemoryTarget } from '../src/store/memory-target.js';
import { LayoutTarget } from '../src/store/layout-target.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { parseReference, formatReference } from '../src/oci/reference.js';
import { parseManifest } from '../src/oci/manifest.js';
import { BUNDLE_REFERRERS, MODEL_ARTIFACT, MODEL_CONFIG, MODEL_LAYER } from '../src/oci/media-types.js';
import { describeBytes } from '../src/oci/descriptor.js';
import { DigestMismatchError, NotAModelError, ReferenceError } from '../src/errors/index.js';
import { bundleReferenceFor, configuredStore } from '../src/store/config.js';

const temp = new TempDirs();
let keys: TestKeys;
let bundleDir: string;
const BIG = 3 * 1024 * 1024;

before(async () => {
  keys = await makeKeys(await temp.make());
  bundleDir = await temp.make();
  // A small shard size so one file is over a shard: its layer digest is not the one model.yaml lists.
  await makeSignedBundle(bundleDir, keys.signingKey, {
    extraFiles: { 'weights/big.bin': seededBytes('big', BIG), 'README.md': '# sample\n', 'config.json': '{"a":1}' },
    digestRule: { name: 'modelship-root-v2', shardBytes: 1024 * 1024 },
  });
});
after(() => temp.cleanup());

describe('references', () => {
  it('parses registry and layout references and refuses bad ones', () => {
    const r = parseReference(`localhost:5000/models/sample-mlp:1.0.0@sha256:${'a'.repeat(64)}`);
    assert.deepEqual(r.location, { kind: 'registry', registry: 'localhost:5000', repository: 'models/sample-mlp' });
    assert.equal(r.tag, '1.0.0');
    assert.equal(formatReference(r), `localhost:5000/models/sample-mlp:1.0.0@sha256:${'a'.repeat(64)}`);
    const l = parseReference('oci-layout:/srv/oci/sample-mlp:2.0.0');
    assert.deepEqual(l.location, { kind: 'layout', dir: '/srv/oci/sample-mlp' });
    assert.equal(l.tag, '2.0.0');
    assert.throws(() => parseReference('localhost:5000/Models/x:1'), ReferenceError);
    assert.throws(() => parseReference('localhost:5000/x@sha256:abc'), ReferenceError);
    assert.throws(() => parseReference('just-a-path/x:1'), /no registry host/);
  });
  it('derives the push reference from MODELSHIP_STORE', () => {
    assert.equal(configuredStore({ MODELSHIP_HOME: '/h' }), 'oci-layout:/h/oci');
    assert.equal(bundleReferenceFor(configuredStore({ MODELSHIP_STORE: 'localhost:5000/team/' }), 'Fraud Model', '1.0.0+b1'), 'localhost:5000/team/fraud-model:1.0.0_b1');
    assert.throws(() => configuredStore({ MODELSHIP_STORE: 'nohost' }), ReferenceError);
  });
});

for (const kind of ['memory', 'layout'] as const) {
  describe(`bundle store over a ${kind} target`, () => {
    let store: OciBundleStore;
    let target: MemoryTarget | LayoutTarget;
    let cacheDir: string;
    let ref: string;
    before(async () => {
      const dir = await temp.make();
      cacheDir = join(dir, 'cache');
      target = kind === 'memory' ? new MemoryTarget() : new LayoutTarget(join(dir, 'oci', 'sample-mlp'));
      store = new OciBundleStore({ cache: new BlobCache(cacheDir), open: () => target });
      ref = kind === 'memory' ? 'localhost:1/sample-mlp:1.0.0' : `oci-layout:${join(dir, 'oci', 'sample-mlp')}:1.0.0`;
    });

    it('pushes a ModelPack manifest with one raw layer per file and the bundle files as referrers', async () => {
      const pushed = await store.pushBundle(bundleDir, ref);
      assert.match(pushed.reference, /:1\.0\.0@sha256:[0-9a-f]{64}$/);
      const manifest = parseManifest(await target.fetch(pushed.manifest), 'model');
      assert.equal(manifest.artifactType, MODEL_ARTIFACT);
      assert.equal(manifest.config.mediaType, MODEL_CONFIG);
      const files = manifest.layers.map((l) => [l.annotations?.['org.cncf.model.filepath'], l.mediaType]);
      assert.deepEqual(files, [
        ['README.md', MODEL_LAYER.doc],
        ['config.json', MODEL_LAYER.weightConfig],
        ['sample-mlp.onnx', MODEL_LAYER.weight],
        ['weights/big.bin', MODEL_LAYER.weight],
      ]);
      const config = JSON.parse((await target.fetch(manifest.config)).toString()) as { modelfs: { type: string; diffIds: string[] }; descriptor: { name: string } };
      assert.deepEqual(config.modelfs, { type: 'layers', diffIds: manifest.layers.map((l) => l.digest) });
      assert.equal(config.descriptor.name, 'sample-mlp');
      const referrers = await target.referrers(pushed.manifest);
      assert.deepEqual(referrers.map((d) => d.artifactType).sort(), Object.values(BUNDLE_REFERRERS).map((s) => s.artifactType).sort());
      assert.equal((await target.resolve('1.0.0')).digest, pushed.manifest.digest);
    });

    it('pulls into a bundle folder that verifies, and a second pull reads nothing from the store', async () => {
      const pushed = await store.pushBundle(bundleDir, ref); // again: idempotent, same digest
      const out = join(await temp.make(), 'b');
      const first = await store.pullBundle(pushed.reference, out);
      assert.equal(first.bytesFromCache, 0);
      assert.ok(first.bytesFetched > BIG);
      const report = await verifyBundle(out, keys.publicKey);
      assert.ok(report.ok, JSON.stringify(report.checks));
      for (const f of ['model/weights/big.bin', 'model.yaml', 'model.jws', 'attestations/smoke.dsse.json']) {
        assert.deepEqual(await readFile(join(out, f)), await readFile(join(bundleDir, f)), f);
      }
      const second = await store.pullBundle(pushed.reference, join(await temp.make(), 'b'));
      assert.equal(second.bytesFetched, 0);
      assert.equal(second.bytesFromCache, first.bytesFetched);
    });

    it('a pull without the cache writes the folder only and still verifies', async () => {
      const pushed = await store.pushBundle(bundleDir, ref);
      const fresh = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'empty-cache')), open: () => target });
      const out = join(await temp.make(), 'b');
      const pulled = await fresh.pullBundle(pushed.reference, out, { useCache: false });
      assert.ok(pulled.bytesFetched > BIG);
      assert.ok((await verifyBundle(out, keys.publicKey)).ok);
      const cached = await readdir(join(fresh.cache.root, 'sha256')).catch(() => [] as string[]);
      const layers = parseManifest(await target.fetch(pushed.manifest), 'm').layers.map((l) => l.digest.slice(7));
      assert.ok(!cached.some((hex) => layers.includes(hex)), 'no model blob kept');
    });

    it('attach replaces a part: one referrer per part stays', async () => {
      const pushed = await store.pushBundle(bundleDir, ref);
      const smoke = await readFile(join(bundleDir, 'attestations/smoke.dsse.json'));
      const changed = Buffer.from(smoke.toString().replace('{', '{ '));
      await store.attach(pushed.reference, 'smoke', changed);
      assert.deepEqual(await store.readPart(pushed.reference, 'smoke'), changed);
      assert.equal((await target.referrers(pushed.manifest, BUNDLE_REFERRERS.smoke.artifactType)).length, 1);
      await store.attach(pushed.reference, 'smoke', smoke);
    });
  });
}

describe('error types', () => {
  it('only an unreachable registry is retryable; the rest are non-retryable in the retry policies, derived from the classes', async () => {
    const errors = await import('../src/errors/index.js');
    const listed = new Set<string>(errors.NON_RETRYABLE_ERROR_TYPES);
    for (const E of [errors.ReferenceError, errors.RegistryAuthError, errors.DigestMismatchError, errors.NotAModelError, errors.ArtifactNotFoundError, errors.RegistryProtocolError]) {
      const err = new E('x');
      assert.equal(err.retryable, false, err.type);
      assert.equal(err.code, E.code);
      assert.ok(listed.has(err.type), `${err.type} is missing from NON_RETRYABLE_ERROR_TYPES`);
    }
    const down = new errors.RegistryUnavailableError('x');
    assert.equal(down.retryable, true);
    assert.ok(!listed.has(down.type));
  });
});

describe('bad content', () => {
  it('a blob changed in the store fails the pull naming blob, expected and actual digest', async () => {
    const target = new MemoryTarget('mem');
    const store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'c')), open: () => target });
    const pushed = await store.pushBundle(bundleDir, 'localhost:1/sample-mlp:1.0.0');
    const layer = parseManifest(await target.fetch(pushed.manifest), 'm').layers[0]!;
    target.corrupt(layer.digest, Buffer.from('# tampered\n'));
    await assert.rejects(store.pullBundle(pushed.reference, join(await temp.make(), 'b')), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`${layer.digest}.*expected ${layer.digest}.*got sha256:[0-9a-f]{64}`));
      return true;
    });
  });
  it('an artifact that is not a model gives a clear error', async () => {
    const target = new MemoryTarget('mem');
    const store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'c')), open: () => target });
    const config = describeBytes('application/vnd.oci.image.config.v1+json', Buffer.from('{}'));
    await target.push(config, { bytes: Buffer.from('{}') });
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [] }));
    const desc = describeBytes('application/vnd.oci.image.manifest.v1+json', bytes);
    await target.push(desc, { bytes });
    await target.tag(desc, 'v1');
    await assert.rejects(store.pullBundle('localhost:1/image:v1', join(await temp.make(), 'b')), (err: unknown) => {
      assert.ok(err instanceof NotAModelError);
      assert.match(err.message, /is not a model: artifactType \(none\), config application\/vnd\.oci\.image\.config\.v1\+json/);
      return true;
    });
  });
  it('pull refuses a folder holding other files', async () => {
    const target = new MemoryTarget('mem');
    const store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'c')), open: () => target });
    const pushed = await store.pushBundle(bundleDir, 'localhost:1/sample-mlp:1.0.0');
    const dir = await temp.make();
    await writeFile(join(dir, 'precious.txt'), 'x');
    await assert.rejects(store.pullBundle(pushed.reference, dir), /precious\.txt/);
    assert.deepEqual(await readdir(dir), ['precious.txt']);
  });
});

describe('CLI push, pull and verify on an OCI layout folder', () => {
  it('push prints the pinned reference; pull and verify take it; a missing tag is a clear error', async () => {
    const { runCli } = await import('./helpers/processes.js');
    const home = await temp.make();
    const env = { PATH: process.env.PATH, MODELSHIP_HOME: home, MODELSHIP_LOG_LEVEL: 'error' };
    const layout = join(home, 'oci', 'sample-mlp');
    const pushed = await runCli(['push', bundleDir, `oci-layout:${layout}:1.0.0`], env);
    assert.equal(pushed.code, 0, pushed.stderr);
    const reference = /^pushed (\S+)$/m.exec(pushed.stdout)?.[1];
    assert.match(reference ?? '', /^oci-layout:.*:1\.0\.0@sha256:[0-9a-f]{64}$/);
    const out = join(await temp.make(), 'pulled');
    const pulled = await runCli(['pull', reference!, out, '--json'], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal((JSON.parse(pulled.stdout) as { reference: string }).reference, reference);
    const verified = await runCli(['verify', `oci-layout:${layout}:1.0.0`, '--key', keys.files.publicKeyPath], env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /ok {3}artifact/);
    const missing = await runCli(['pull', `oci-layout:${layout}:2.0.0`, join(out, 'x')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /2\.0\.0 not found/);
  });
});
