// The bundle store against a real registry (distribution v3.1.2, which has no referrers API): push, pull,
// verify, the sha256-<hex> referrers fallback, upload resume, basic auth, and the errors users meet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, seededBytes, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './helpers/registry.js';
import { startTokenServer, type TokenServer } from './helpers/token-server.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { RemoteTarget } from '../src/store/remote-target.js';
import { verifyBundle } from '../src/bundle/verify.js';
import { parseIndex, parseManifest } from '../src/oci/manifest.js';
import { BUNDLE_REFERRERS, OCI_INDEX } from '../src/oci/media-types.js';
import { RegistryAuthError, RegistryUnavailableError } from '../src/errors/index.js';

const skip = registryUnavailable();
const temp = new TempDirs();
let keys: TestKeys;
let bundleDir: string;

before(async () => {
  if (skip) return;
  keys = await makeKeys(await temp.make());
  bundleDir = await temp.make();
  await makeSignedBundle(bundleDir, keys.signingKey, { extraFiles: { 'weights/big.bin': seededBytes('big', 20 * 1024 * 1024) } });
});
after(() => temp.cleanup());

function storeFor(cacheDir: string, options: { credentials?: { username: string; password: string; source: string } | null } = {}) {
  return new OciBundleStore({ cache: new BlobCache(cacheDir), chunkBytes: 4 * 1024 * 1024, ...options });
}

/**
 * A TCP relay to the registry that, once `limit` bytes came back through it, resets every
 * connection and stops listening: to the client, the registry is gone mid-body.
 */
async function cuttingProxy(target: string, limit: number): Promise<{ address: string; upBytes(): number; close(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let down = 0;
  let up = 0;
  const cut = () => {
    for (const s of sockets) s.resetAndDestroy();
    server.close();
  };
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => (up += d.length));
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      down += d.length;
      if (down > limit) cut();
      else client.write(d);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { address, upBytes: () => up, close: async () => cut() };
}

describe('bundle store on a real registry without auth', { skip }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  it('pushes, finds referrers through the sha256-<hex> tag fallback, pulls and verifies', async () => {
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: null });
    const pushed = await store.pushBundle(bundleDir, `${registry.address}/models/sample-mlp:1.0.0`);
    assert.match(pushed.reference, new RegExp(`^${registry.address}/models/sample-mlp:1\\.0\\.0@sha256:[0-9a-f]{64}$`));
    assert.deepEqual(Object.keys(pushed.parts).sort(), ['manifest', 'provenance', 'signature', 'smoke']);

    // distribution (2.8 and 3.1) has no referrers API: 404 there, and the fallback index lists all four.
    const hex = pushed.manifest.digest.slice(7);
    const api = await fetch(`http://${registry.address}/v2/models/sample-mlp/referrers/${pushed.manifest.digest}`);
    assert.equal(api.status, 404);
    const fallback = await fetch(`http://${registry.address}/v2/models/sample-mlp/manifests/sha256-${hex}`, { headers: { accept: OCI_INDEX } });
    assert.equal(fallback.status, 200);
    const index = parseIndex(Buffer.from(await fallback.arrayBuffer()), 'fallback');
    assert.deepEqual(index.manifests.map((d) => d.artifactType).sort(), Object.values(BUNDLE_REFERRERS).map((s) => s.artifactType).sort());

    const out = join(await temp.make(), 'pulled');
    const pulled = await store.pullBundle(pushed.reference, out);
    assert.ok(pulled.bytesFetched > 20 * 1024 * 1024);
    const report = await verifyBundle(out, keys.publicKey);
    assert.ok(report.ok, JSON.stringify(report.checks));
    const again = await store.pullBundle(pushed.reference, join(await temp.make(), 'pulled'));
    assert.equal(again.bytesFetched, 0, 'the second pull on this host reads the blobs from the cache');
  });

  it('a second push of the same bundle uploads no blob again (HEAD finds them)', async () => {
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: null });
    let sent = 0;
    await store.pushBundle(bundleDir, `${registry.address}/models/sample-mlp:1.0.1`, { onProgress: (n) => (sent = Math.max(sent, n)) });
    assert.equal(sent, 0);
  });

  it('an interrupted chunked upload resumes from what the registry holds', async () => {
    const dir = await temp.make();
    const file = join(dir, 'weights.bin');
    await writeFile(file, seededBytes('resume', 10 * 1024 * 1024 + 123));
    const stateDir = join(dir, 'uploads');
    const target = () => new RemoteTarget({ registry: registry.address, repository: 'models/resume', chunkBytes: 2 * 1024 * 1024, uploadStateDir: stateDir, credentials: null });
    const abort = new AbortController();
    await assert.rejects(
      target().pushFile('application/octet-stream', file, { signal: abort.signal, onProgress: (n) => n > 5 * 1024 * 1024 && abort.abort() }),
      (err: Error) => err.name === 'AbortError',
    );
    // The cancel lands in the third 2 MiB chunk, which finishes: the session holds 6 MiB.
    assert.equal((await readdir(stateDir)).length, 1, 'the upload session is recorded');
    let first: number | undefined;
    const desc = await target().pushFile('application/octet-stream', file, { onProgress: (n) => (first ??= n) });
    assert.ok(first! > 6 * 1024 * 1024, `resumed at ${first} bytes, not from 0`);
    assert.equal(desc.digest, `sha256:${(await import('node:crypto')).createHash('sha256').update(await readFile(file)).digest('hex')}`);
    assert.deepEqual((await readdir(stateDir)).filter((f) => !f.startsWith('digest-')), [], 'the finished session is forgotten');
    // Pushed again from this host (a retried stage): the digest is remembered, a HEAD finds the blob.
    let again = 0;
    assert.deepEqual(await target().pushFile('application/octet-stream', file, { onProgress: (n) => (again = n) }), desc);
    assert.equal(again, 0);
    const head = await fetch(`http://${registry.address}/v2/models/resume/blobs/${desc.digest}`, { method: 'HEAD' });
    assert.equal(Number(head.headers.get('content-length')), desc.size);
  });

  it('a push killed mid-bundle (SIGKILL, no cleanup) resumes: the retry sends only the blobs the registry lacks', async () => {
    const dir = await temp.make();
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) files[`weights-${i}.bin`] = seededBytes(`killed-${i}`, 4 * 1024 * 1024 + i);
    await makeSignedBundle(dir, keys.signingKey, { extraFiles: files });
    const total = Object.values(files).reduce((n, b) => n + b.length, 0);
    // Bytes client → registry, counted on the wire.
    const proxy = await cuttingProxy(registry.address, Infinity);
    try {
      const reference = `${proxy.address}/models/killed:1.0.0`;
      // Killed once 20 of the 24 MiB went out: with three files in flight, at least two are complete.
      // Spawned without blocking: the relay runs in this process's event loop.
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
        const { OciBundleStore } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'src', 'store', 'oci-bundle-store.js'))});
        const { BlobCache } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'src', 'store', 'blob-cache.js'))});
        const store = new OciBundleStore({ cache: new BlobCache(${JSON.stringify(join(dir, 'cache'))}), credentials: null });
        await store.pushBundle(${JSON.stringify(dir)}, ${JSON.stringify(reference)}, { onProgress: (n) => n > 20 * 1024 * 1024 && process.kill(process.pid, 'SIGKILL') });
      `], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
      assert.equal(signal, 'SIGKILL', stderr);
      const before = proxy.upBytes();
      assert.ok(before > 16 * 1024 * 1024, `the killed push sent ${before} bytes`);
      const pushed = await storeFor(join(dir, 'cache2'), { credentials: null }).pushBundle(dir, reference);
      const retry = proxy.upBytes() - before;
      assert.ok(retry < total - 8 * 1024 * 1024, `the retry sent ${retry} of ${total} bytes: complete blobs are not sent again`);
      const out = join(await temp.make(), 'pulled');
      await storeFor(join(await temp.make(), 'cache'), { credentials: null }).pullBundle(pushed.reference.replace(proxy.address, registry.address), out);
      for (const [name, bytes] of Object.entries(files)) assert.ok((await readFile(join(out, 'model', name))).equals(bytes), name);
    } finally {
      await proxy.close();
    }
  });

  it('a corrupted cache blob is detected on the next pull and fetched again', async () => {
    const pushed = await storeFor(join(await temp.make(), 'push-cache'), { credentials: null }).pushBundle(bundleDir, `${registry.address}/models/corrupt-cache:1.0.0`);
    const cache = new BlobCache(join(await temp.make(), 'cache'));
    const store = new OciBundleStore({ cache, credentials: null });
    const first = await store.pullBundle(pushed.reference, join(await temp.make(), 'one'));
    assert.ok(first.bytesFetched > 20 * 1024 * 1024);
    const big = join('model', 'weights', 'big.bin');
    const manifest = parseManifest(await readFile(cache.pathOf(pushed.manifest)), 'manifest');
    const layer = manifest.layers.find((l) => l.annotations?.['org.cncf.model.filepath'] === 'weights/big.bin')!;
    // The cache file is read-only; a root process (or bit rot) changes it anyway.
    await chmod(cache.pathOf(layer), 0o644);
    const handle = await open(cache.pathOf(layer), 'r+');
    await handle.write(Buffer.from('corrupted'), 0, 9, 1024 * 1024);
    await handle.close();
    const out = join(await temp.make(), 'two');
    const second = await store.pullBundle(pushed.reference, out);
    assert.equal(second.bytesFetched, layer.size, 'only the corrupted blob is fetched again');
    assert.ok((await readFile(join(out, big))).equals(await readFile(join(bundleDir, big))));
    assert.ok((await verifyBundle(out, keys.publicKey)).ok);
  });

  it('the registry vanishes mid-pull: a retryable error naming it, nothing half-written in the cache', async () => {
    const pushed = await storeFor(join(await temp.make(), 'push-cache'), { credentials: null }).pushBundle(bundleDir, `${registry.address}/models/vanish:1.0.0`);
    const proxy = await cuttingProxy(registry.address, 2 * 1024 * 1024);
    try {
      const cacheDir = join(await temp.make(), 'cache');
      const store = storeFor(cacheDir, { credentials: null });
      const reference = pushed.reference.replace(registry.address, proxy.address);
      await assert.rejects(store.pullBundle(reference, join(await temp.make(), 'x')), (err: unknown) => {
        assert.ok(err instanceof RegistryUnavailableError, String(err));
        assert.equal(err.retryable, true);
        assert.ok(err.message.includes(`registry ${proxy.address}`), err.message);
        return true;
      });
      const left = await readdir(join(cacheDir, 'sha256'));
      assert.deepEqual(left.filter((f) => f.endsWith('.partial')), [], 'no partial file stays in the cache');
    } finally {
      await proxy.close();
    }
  });

  it('registry down: a retryable error naming the registry', async () => {
    const other = await startRegistry();
    const address = other.address;
    await other.stop();
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: null });
    await assert.rejects(store.pullBundle(`${address}/models/sample-mlp:1.0.0`, join(await temp.make(), 'x')), (err: unknown) => {
      assert.ok(err instanceof RegistryUnavailableError, String(err));
      assert.equal(err.retryable, true);
      assert.match(err.message, new RegExp(`registry ${address} is unreachable \\(ECONNREFUSED\\)`));
      return true;
    });
  });
});

describe('bundle store on a registry with htpasswd basic auth', { skip }, () => {
  let registry: TestRegistry;
  const password = 'pässwörd-42';
  before(async () => {
    registry = await startRegistry({ users: { ci: password } });
  });
  after(() => registry?.stop());

  it('credentials from the environment push and pull', async () => {
    const env = { ...process.env };
    process.env.MODELSHIP_REGISTRY_USERNAME = 'ci';
    process.env.MODELSHIP_REGISTRY_PASSWORD = password;
    try {
      const store = storeFor(join(await temp.make(), 'cache'));
      const pushed = await store.pushBundle(bundleDir, `${registry.address}/team/sample-mlp:1.0.0`);
      const out = join(await temp.make(), 'b');
      await store.pullBundle(pushed.reference, out);
      assert.ok((await verifyBundle(out, keys.publicKey)).ok);
    } finally {
      process.env = env;
    }
  });

  it('credentials from a Docker-style config.json (base64 auth)', async () => {
    const dockerDir = await temp.make();
    await writeFile(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [registry.address]: { auth: Buffer.from(`ci:${password}`).toString('base64') } } }));
    const env = { ...process.env };
    delete process.env.MODELSHIP_REGISTRY_USERNAME;
    process.env.DOCKER_CONFIG = dockerDir;
    try {
      const store = storeFor(join(await temp.make(), 'cache'));
      const pushed = await store.pushBundle(bundleDir, `${registry.address}/team/sample-mlp:1.0.1`);
      assert.ok((await store.readPart(pushed.reference, 'signature'))!.length > 0);
    } finally {
      process.env = env;
    }
  });

  it('a wrong password: non-retryable, names the registry, never the password', async () => {
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: { username: 'ci', password: 'wrong-secret', source: 'test' } });
    await assert.rejects(store.pushBundle(bundleDir, `${registry.address}/team/sample-mlp:9.9.9`), (err: unknown) => {
      assert.ok(err instanceof RegistryAuthError, String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`registry ${registry.address} refused the credentials from test \\(HTTP 401\\)`));
      assert.doesNotMatch(err.message, /wrong-secret/);
      return true;
    });
  });

  it('no credentials: says how to give them', async () => {
    const env = { ...process.env };
    delete process.env.MODELSHIP_REGISTRY_USERNAME;
    process.env.DOCKER_CONFIG = await temp.make();
    try {
      const store = storeFor(join(await temp.make(), 'cache'));
      await assert.rejects(store.readPart(`${registry.address}/team/sample-mlp:1.0.0`, 'manifest'), /needs credentials and none are configured \(set MODELSHIP_REGISTRY_USERNAME/);
    } finally {
      process.env = env;
    }
  });
});

describe('bundle store on a registry with bearer-token auth (Docker token protocol)', { skip }, () => {
  let registry: TestRegistry;
  let tokens: TokenServer;
  before(async () => {
    tokens = await startTokenServer(await temp.make(), { ci: 'token-pass' });
    registry = await startRegistry({ token: tokens });
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  it('answers the challenge with a token per repository scope, then pushes and pulls', async () => {
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: { username: 'ci', password: 'token-pass', source: 'test' } });
    const pushed = await store.pushBundle(bundleDir, `${registry.address}/secure/sample-mlp:1.0.0`);
    const out = join(await temp.make(), 'b');
    await store.pullBundle(pushed.reference, out);
    assert.ok((await verifyBundle(out, keys.publicKey)).ok);
    assert.ok(tokens.issued.includes('repository:secure/sample-mlp:pull,push'), tokens.issued.join(' '));
  });

  it('a wrong password at the token server: non-retryable, names the registry', async () => {
    const store = storeFor(join(await temp.make(), 'cache'), { credentials: { username: 'ci', password: 'nope', source: 'test' } });
    await assert.rejects(store.readPart(`${registry.address}/secure/sample-mlp:1.0.0`, 'manifest'), (err: unknown) => {
      assert.ok(err instanceof RegistryAuthError, String(err));
      assert.match(err.message, new RegExp(`registry ${registry.address} refused the credentials from test`));
      return true;
    });
  });
});
