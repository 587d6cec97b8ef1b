// An independent client (oras v1.3.6, built by setup) reads what we push to a real registry, and
// tampering in the registry — a blob, the manifest, a referrer — makes `modelship verify <ref>`
// fail naming the check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, run, seededBytes, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { ORAS_BIN, orasUnavailable, registryUnavailable, startRegistry, type TestRegistry } from './helpers/registry.js';
import { runCli } from './helpers/processes.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { manifestDescriptor, parseManifest } from '../src/oci/manifest.js';
import { BUNDLE_PARTS, BUNDLE_REFERRERS, MODEL_ARTIFACT, MODEL_LAYER } from '../src/oci/media-types.js';
import { RemoteTarget } from '../src/store/remote-target.js';
import { listModelFiles } from '../src/hashing/list-files.js';
import type { StoredBundle } from '../src/store/bundle-store.js';

const skip = registryUnavailable() ?? orasUnavailable();
const temp = new TempDirs();
let keys: TestKeys;
let bundleDir: string;
let registry: TestRegistry;
let store: OciBundleStore;

before(async () => {
  if (skip) return;
  keys = await makeKeys(await temp.make());
  bundleDir = await temp.make();
  await makeSignedBundle(bundleDir, keys.signingKey, { extraFiles: { 'weights/big.bin': seededBytes('interop', 9 * 1024 * 1024 + 7), 'README.md': '# sample\n' } });
  registry = await startRegistry();
  store = new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'cache')) });
});
after(async () => {
  await registry?.stop();
  await temp.cleanup();
});

function oras(args: string[]): string {
  const r = run(ORAS_BIN, args, { env: { ...process.env, DOCKER_CONFIG: join(bundleDir, 'no-docker-config') } });
  assert.equal(r.status, 0, `oras ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `modelship verify <ref>` as a user runs it, with a fresh blob cache (a host that has not pulled it). */
async function verifyCli(reference: string) {
  const home = await temp.make();
  return runCli(['verify', reference, '--key', keys.files.publicKeyPath], { PATH: process.env.PATH, MODELSHIP_HOME: home, MODELSHIP_LOG_LEVEL: 'error', DOCKER_CONFIG: home });
}

/** distribution's filesystem layout: a blob's bytes live in blobs/sha256/<2 hex>/<hex>/data. */
function blobData(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.storageDir, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/**
 * Registries share blobs across repositories, so each tampering case gets a bundle of its own
 * (its README differs): changing its blobs cannot touch another case's.
 */
async function push(repo: string, dir?: string): Promise<StoredBundle> {
  if (!dir) {
    dir = await temp.make();
    await makeSignedBundle(dir, keys.signingKey, { extraFiles: { 'weights/big.bin': seededBytes('interop', 9 * 1024 * 1024 + 7), 'README.md': `# ${repo}\n` } });
  }
  return store.pushBundle(dir, `${registry.address}/${repo}:1.0.0`);
}

describe('interop with oras and tampering in the registry', { skip }, () => {
  it('oras pull gives the model files byte for byte', async () => {
    const pushed = await push('interop/pull', bundleDir);
    const out = await temp.make();
    oras(['pull', '--plain-http', pushed.reference, '-o', out]);
    const files = await listModelFiles(out);
    assert.deepEqual(files.map((f) => f.path), ['README.md', 'sample-mlp.onnx', 'weights/big.bin']);
    for (const f of files) assert.ok((await readFile(join(out, f.path))).equals(await readFile(join(bundleDir, 'model', f.path))), f.path);
  });

  it('oras push, modelship pull: the files byte for byte, hard-linked from a cache that re-verifies them', async () => {
    // Big enough that oras and we both stream it (no single-request shortcut), odd-sized to catch off-by-ones.
    const src = await temp.make();
    const files = { 'weights-0.bin': seededBytes('oras-0', 12 * 1024 * 1024 + 5), 'weights-1.bin': seededBytes('oras-1', 3 * 1024 * 1024 + 1), 'notes.txt': Buffer.from('from oras\n') };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(src, name), bytes);
    const reference = `${registry.address}/interop/from-oras:1.0.0`;
    const pushed = run(ORAS_BIN, ['push', '--plain-http', '--artifact-type', MODEL_ARTIFACT, reference, ...Object.keys(files).map((f) => `${f}:${MODEL_LAYER.weight}`)], { cwd: src, env: { ...process.env, DOCKER_CONFIG: join(bundleDir, 'no-docker-config') } });
    assert.equal(pushed.status, 0, pushed.stderr);
    const cache = new BlobCache(join(await temp.make(), 'cache'));
    const ours = new OciBundleStore({ cache });
    const out = join(await temp.make(), 'model');
    const first = await ours.pullModel(reference, out);
    assert.equal(first.bytesFetched, Object.values(files).reduce((n, b) => n + b.length, 0));
    for (const [name, bytes] of Object.entries(files)) assert.ok((await readFile(join(out, name))).equals(bytes), name);
    // The second pull fetches nothing and still yields the same bytes.
    const out2 = join(await temp.make(), 'model');
    const second = await ours.pullModel(reference, out2);
    assert.equal(second.bytesFetched, 0);
    for (const [name, bytes] of Object.entries(files)) assert.ok((await readFile(join(out2, name))).equals(bytes), name);
  });

  it('oras discover lists the manifest, signature and both attestations (through the fallback tag)', async () => {
    const pushed = await push('interop/discover', bundleDir);
    const tree = JSON.parse(oras(['discover', '--plain-http', '--format', 'json', pushed.reference])) as { referrers: Array<{ artifactType: string; digest: string }> };
    assert.deepEqual(tree.referrers.map((r) => r.artifactType).sort(), Object.values(BUNDLE_REFERRERS).map((s) => s.artifactType).sort());
    for (const part of ['signature', 'provenance', 'smoke'] as const) assert.ok(tree.referrers.some((r) => r.digest === pushed.parts[part]!.digest), part);
  });

  it('an untouched artifact verifies by reference', async () => {
    const pushed = await push('interop/clean');
    const r = await verifyCli(pushed.reference);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok {3}artifact/);
    assert.match(r.stdout, /verified: every check passed/);
  });

  it('one blob changed in the registry storage: the artifact check names blob, expected and actual digest', async () => {
    const pushed = await push('interop/blob');
    const manifest = parseManifest(await readFile(blobData(pushed.manifest.digest)), 'manifest');
    const onnx = manifest.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === 'README.md')!;
    const bytes = await readFile(blobData(onnx.digest));
    bytes[2] = bytes[2]! ^ 0x20;
    await writeFile(blobData(onnx.digest), bytes);
    const r = await verifyCli(pushed.reference);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`FAIL artifact +DigestMismatchError: .*blob interop/blob@${onnx.digest}: expected ${onnx.digest} \\(${onnx.size} bytes\\), got sha256:[0-9a-f]{64}`), `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /verification FAILED: artifact/);
    // The key is named even though nothing could be read: it comes from --key, not the bundle.
    assert.match(r.stdout, new RegExp(`^verifying \\S+ with kid ${keys.publicKey.kid}$`, 'm'));
  });

  it('the manifest changed in the registry storage: the artifact check names the manifest', async () => {
    const pushed = await push('interop/manifest');
    const text = (await readFile(blobData(pushed.manifest.digest), 'utf8')).replace('"org.opencontainers.image.version":"1.0.0"', '"org.opencontainers.image.version":"6.6.6"');
    await writeFile(blobData(pushed.manifest.digest), text);
    const r = await verifyCli(pushed.reference);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`FAIL artifact +DigestMismatchError: .*manifest interop/manifest@${pushed.manifest.digest}: expected`));
  });

  it('another manifest pushed under the same tag (one file swapped, referrers copied): files fails', async () => {
    const pushed = await push('interop/retag');
    // The forger's push: the same manifest with the README layer swapped, under the same tag, and
    // the signed parts copied onto it.
    const target = new RemoteTarget({ registry: registry.address, repository: 'interop/retag', credentials: null });
    const original = parseManifest(await target.fetch(pushed.manifest), 'original');
    const dir = await temp.make();
    await writeFile(join(dir, 'README.md'), '# FORGED/retag!\n'); // as long as the original, so only the digest can tell
    const forgedLayer = await target.pushFile(MODEL_LAYER.doc, join(dir, 'README.md'), { annotations: { 'org.cncf.model.filepath': 'README.md', 'org.opencontainers.image.title': 'README.md' } });
    const forged = { ...original, layers: original.layers.map((l) => (l.annotations?.['org.cncf.model.filepath'] === 'README.md' ? forgedLayer : l)) };
    const { desc, bytes } = manifestDescriptor(forged);
    await target.push(desc, { bytes });
    await target.tag(desc, '1.0.0');
    for (const part of BUNDLE_PARTS) await store.attach(`${registry.address}/interop/retag@${desc.digest}`, part, (await store.readPart(pushed.reference, part))!);

    const byTag = await verifyCli(`${registry.address}/interop/retag:1.0.0`);
    assert.equal(byTag.code, 1);
    assert.match(byTag.stdout, /FAIL files +model\/README\.md: sha256 [0-9a-f]{64}, model\.yaml says/);
    // Pinned by digest, the original is still what is verified.
    assert.equal((await verifyCli(pushed.reference)).code, 0);
  });

  it('a referrer replaced (model.jws re-attached with a changed signature): signature fails', async () => {
    const pushed = await push('interop/referrer');
    const jws = JSON.parse((await store.readPart(pushed.reference, 'signature'))!.toString('utf8')) as { signatures: Array<{ signature: string }> };
    const sig = jws.signatures[0]!;
    sig.signature = (sig.signature[0] === 'A' ? 'B' : 'A') + sig.signature.slice(1);
    await store.attach(pushed.reference, 'signature', Buffer.from(JSON.stringify(jws)));
    const r = await verifyCli(pushed.reference);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL signature +model\.jws: /);
  });

  it('a second signature attached by oras: the artifact check refuses the ambiguity', async () => {
    const pushed = await push('interop/oras-attach');
    const dir = await temp.make();
    await writeFile(join(dir, 'model.jws'), '{"payload":"x","signatures":[]}');
    execFileSync(ORAS_BIN, ['attach', '--plain-http', '--artifact-type', BUNDLE_REFERRERS.signature.artifactType, pushed.reference, 'model.jws:application/jose+json'], { cwd: dir, stdio: 'ignore' });
    const r = await verifyCli(pushed.reference);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL artifact +NotAModelError: .*2 model\.jws referrers/);
  });
});
