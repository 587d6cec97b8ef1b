// `release` from a source that is itself an OCI ModelPack artifact: the worker's export pulls its
// files (digests checked, through the blob cache) and releases them like a model folder.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, seededBytes, TempDirs } from './helpers/fixtures.js';
import { startReleaseEnv, type ReleaseEnv } from './helpers/release-env.js';
import { activityResults } from './helpers/history.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { isArtifactSource } from '../src/store/model-source.js';
import type { ExportResult } from '../src/release/types.js';

const temp = new TempDirs();
let env: ReleaseEnv;
let reference: string;
let sourceBundle: string;
const savedCache = process.env.MODELSHIP_BLOB_CACHE;

before(async () => {
  process.env.MODELSHIP_BLOB_CACHE = join(await temp.make(), 'blobs');
  const keys = await makeKeys(await temp.make());
  sourceBundle = await temp.make();
  await makeSignedBundle(sourceBundle, keys.signingKey, { extraFiles: { 'weights.bin': seededBytes('source', 2 * 1024 * 1024), 'README.md': '# from a registry\n' } });
  const layout = join(await temp.make(), 'oci', 'upstream');
  const pushed = await new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'c')) }).pushBundle(sourceBundle, `oci-layout:${layout}:1.0.0`);
  reference = pushed.reference;
  env = await startReleaseEnv();
});
after(async () => {
  await env?.stop();
  await temp.cleanup();
  if (savedCache === undefined) delete process.env.MODELSHIP_BLOB_CACHE;
  else process.env.MODELSHIP_BLOB_CACHE = savedCache;
});

describe('release from an OCI ModelPack artifact', () => {
  it('tells artifact references from paths', () => {
    assert.ok(isArtifactSource('localhost:5000/models/x:1.0.0'));
    assert.ok(isArtifactSource('registry.example.com/team/x@sha256:' + 'a'.repeat(64)));
    assert.ok(isArtifactSource('oci-layout:/srv/oci/x:1'));
    assert.ok(!isArtifactSource('/srv/models/x.onnx'));
    assert.ok(!isArtifactSource('models/x.onnx'));
  });

  it('exports the artifact\'s files and records the pinned reference as the source', async () => {
    const handle = await env.start(env.request({ name: 'from-oci', version: '1.0.0', source: { kind: 'onnx', path: reference }, canary: false }));
    const result = (await handle.result()) as import('../src/release/types.js').ReleaseResult;
    const [exported] = await activityResults<ExportResult>(handle, 'exportModel');
    assert.equal(exported!.source.uri, reference);
    assert.deepEqual(result.files.map((f) => f.path), ['README.md', 'sample-mlp.onnx', 'weights.bin']);
    for (const f of result.files) assert.ok((await readFile(join(result.bundleDir, 'model', f.path))).equals(await readFile(join(sourceBundle, 'model', f.path))), f.path);
  });

  it('a reference to nothing fails the release at export with a clear, non-retried error', async () => {
    const handle = await env.start(env.request({ name: 'from-oci', version: '1.0.1', source: { kind: 'onnx', path: reference.replace(/:1\.0\.0@.*/, ':9.9.9') }, canary: false }));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const text = JSON.stringify(err.cause, Object.getOwnPropertyNames(err.cause ?? {}));
      assert.match(text, /9\.9\.9 not found/);
      return true;
    });
  });
});
