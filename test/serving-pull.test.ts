// The serving runtime deploying by reference from a real registry (distribution v3.1.2): it
// pulls into its own folder, verifies before loading, restores from its copy or the registry
// after a restart, keeps serving while the registry is down, and refuses what was changed in it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, SAMPLE_MODEL, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './helpers/registry.js';
import { inferFeatures } from './helpers/serving-fixture.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { startServingRuntime, type ServingRuntime } from '../src/serving/serve.js';
import { ServingAdminClient } from '../src/serving-client/admin-client.js';
import { ServingRejectedError, ServingUnavailableError } from '../src/errors/index.js';
import { hexOf, type Digest } from '../src/oci/descriptor.js';
import { parseReference } from '../src/oci/reference.js';
import type { StoredBundle } from '../src/store/bundle-store.js';
import { pino } from 'pino';

const skip = registryUnavailable();
const temp = new TempDirs();
const secret = randomBytes(24).toString('hex');

describe('serving pulls by digest', { skip }, () => {
  let registry: TestRegistry;
  let keys: TestKeys;
  let store: OciBundleStore;
  let stateDir: string;
  let trusted: string;
  let runtime: ServingRuntime | undefined;
  let admin: ServingAdminClient;
  let port = 0;
  let v1: StoredBundle;
  let v2: StoredBundle;

  /** A signed bundle of the sample model with a side file of its own (so no version shares all its blobs). */
  async function push(version: string): Promise<StoredBundle> {
    const dir = await temp.make();
    await makeSignedBundle(dir, keys.signingKey, { name: 'pulled', version, modelPath: SAMPLE_MODEL, extraFiles: { 'labels.bin': randomBytes(4096) } });
    return store.pushBundle(dir, `${registry.address}/models/pulled:${version}`);
  }

  async function startServing(): Promise<void> {
    runtime = await startServingRuntime({ host: '127.0.0.1', port, stateDir, trustedKeysDir: trusted, adminSecret: secret, logger: pino({ level: 'silent' }) });
    port = Number(new URL(runtime.url).port);
    admin = new ServingAdminClient({ baseUrl: runtime.url, secret, timeoutMs: 20_000 });
  }

  /** distribution's file for a blob (its filesystem storage layout). */
  function blobData(digest: Digest): string {
    const hex = hexOf(digest);
    return join(registry.storageDir, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }

  before(async () => {
    if (skip) return;
    registry = await startRegistry();
    keys = await makeKeys(await temp.make());
    trusted = join(await temp.make(), 'trusted');
    await mkdir(trusted);
    await writeFile(join(trusted, 'release.pub.pem'), await readFile(keys.files.publicKeyPath));
    store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'pusher-cache')), credentials: null });
    v1 = await push('1.0.0');
    v2 = await push('2.0.0');
    stateDir = join(await temp.make(), 'state');
    await startServing();
  });
  after(async () => {
    await runtime?.close();
    await registry?.stop();
    await temp.cleanup();
  });

  it('a deploy names a reference: the runtime pulls it into its own folder, verifies it, serves it', async () => {
    const result = await admin.deploy('pulled', 'stable', { reference: v1.reference });
    assert.equal(result.changed, true);
    const stable = result.status.slots.stable!;
    assert.equal(stable.reference, v1.reference);
    assert.equal(stable.version, '1.0.0');
    assert.equal(stable.bundleDir, join(stateDir, 'bundles', hexOf(v1.manifest.digest)));
    assert.deepEqual((await readdir(stable.bundleDir)).sort(), ['attestations', 'model', 'model.jws', 'model.yaml']);
    const answer = await inferFeatures(runtime!.url, 'pulled', [[0.1, 0.2, 0.3, 0.4]]);
    assert.equal(answer.status, 200);
    assert.equal(answer.json.version, '1.0.0');
    // A retry of the same deploy changes nothing (and needs no registry).
    assert.equal((await admin.deploy('pulled', 'stable', { reference: v1.reference })).changed, false);
  });

  it('refuses a reference without a digest, and a bundleDir that is not absolute', async () => {
    const tagOnly = `${registry.address}/models/pulled:1.0.0`;
    await assert.rejects(admin.deploy('pulled', 'canary', { reference: tagOnly }), (err: unknown) => err instanceof ServingRejectedError && err.status === 400 && /pinned by digest/.test(err.message));
    await assert.rejects(admin.deploy('pulled', 'canary', 'relative/dir'), (err: unknown) => err instanceof ServingRejectedError && err.status === 400 && /absolute path/.test(err.message));
  });

  it('after a restart it re-verifies its own copy; with the copy gone it pulls again from the registry', async () => {
    await runtime!.close();
    await startServing();
    let stable = (await admin.status('pulled')).slots.stable!;
    assert.equal(stable.state, 'serving');
    assert.equal(stable.reference, v1.reference);

    await runtime!.close();
    await rm(join(stateDir, 'bundles'), { recursive: true, force: true });
    await rm(join(stateDir, 'blobs'), { recursive: true, force: true });
    await startServing();
    stable = (await admin.status('pulled')).slots.stable!;
    assert.equal(stable.state, 'serving', stable.error);
    assert.equal(stable.reference, v1.reference);
    assert.equal((await inferFeatures(runtime!.url, 'pulled', [[0.1, 0.2, 0.3, 0.4]])).json.version, '1.0.0');
  });

  it('registry down: the deploy fails retryably (503) and the slot keeps serving', async () => {
    await registry.stop();
    try {
      await assert.rejects(admin.deploy('pulled', 'canary', { reference: v2.reference }), (err: unknown) => err instanceof ServingUnavailableError && err.status === 503 && /cannot pull/.test(err.message));
      const status = await admin.status('pulled');
      assert.equal(status.slots.stable?.reference, v1.reference);
      assert.equal(status.slots.canary, null);
      assert.equal((await inferFeatures(runtime!.url, 'pulled', [[0.5, 0.5, 0.5, 0.5]])).status, 200);
    } finally {
      registry = await startRegistry();
      store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'pusher-cache')), credentials: null });
      v1 = await push('1.0.0');
      v2 = await push('2.0.0');
    }
    // The same deploy, retried once the registry is back (a new registry on a new port here).
    const result = await admin.deploy('pulled', 'canary', { reference: v2.reference });
    assert.equal(result.status.slots.canary?.version, '2.0.0');
  });

  it('a changed model blob in the registry is refused, naming the digest check; the slots are untouched', async () => {
    const v3 = await push('3.0.0');
    const ref = parseReference(v3.reference);
    assert.ok(ref.digest);
    // The side file's layer (no other version has it): change its bytes where the registry keeps them.
    const manifest = JSON.parse(await readFile(blobData(v3.manifest.digest), 'utf8')) as { layers: Array<{ digest: Digest; annotations?: Record<string, string> }> };
    const layer = blobData(manifest.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === 'labels.bin')!.digest);
    const bytes = await readFile(layer);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(layer, bytes);
    const before = await admin.status('pulled');
    await assert.rejects(admin.deploy('pulled', 'stable', { reference: v3.reference }), (err: unknown) => {
      assert.ok(err instanceof ServingRejectedError && err.status === 422, String(err));
      assert.match(err.message, /refused: pull: DigestMismatchError/);
      return true;
    });
    const after = await admin.status('pulled');
    assert.equal(after.slots.stable?.reference, before.slots.stable?.reference);
  });

  it('a changed signature referrer is refused by the signature check', async () => {
    const v4 = await push('4.0.0');
    // Replace model.jws with one over other bytes (a valid referrer, a wrong signature).
    const jws = JSON.parse((await store.readPart(v4.reference, 'signature'))!.toString('utf8')) as { payload: string };
    jws.payload = Buffer.from('name: someone-else\n').toString('base64url');
    await store.attach(v4.reference, 'signature', Buffer.from(JSON.stringify(jws)));
    await assert.rejects(admin.deploy('pulled', 'stable', { reference: v4.reference }), (err: unknown) => {
      assert.ok(err instanceof ServingRejectedError && err.status === 422, String(err));
      assert.match(err.message, /signature: /);
      return true;
    });
    assert.equal((await admin.status('pulled')).slots.stable?.version, '1.0.0', 'the stable slot is untouched');
  });
});
