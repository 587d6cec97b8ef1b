// A registry over HTTPS, as production registries are: a real distribution with a certificate
// from a private CA made here. Trusting the CA with MODELSHIP_REGISTRY_CA_FILE, push, pull and
// verify work and oras reads what we push (and the reverse); without it, or with the wrong one,
// or with HTTP and HTTPS mixed up, the error is non-retryable, names the registry and says what to set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, run, seededBytes, TempDirs, type TestKeys } from './helpers/fixtures.js';
import { ORAS_BIN, orasUnavailable, registryUnavailable, startRegistry, type TestRegistry } from './helpers/registry.js';
import { makeTestCa, type TestCa } from './helpers/tls.js';
import { runCli } from './helpers/processes.js';
import { OciBundleStore } from '../src/store/oci-bundle-store.js';
import { BlobCache } from '../src/store/blob-cache.js';
import { RegistryTlsError, RegistryUnavailableError } from '../src/errors/index.js';
import { MODEL_ARTIFACT, MODEL_LAYER } from '../src/oci/media-types.js';
import { listModelFiles } from '../src/hashing/list-files.js';

const skip = registryUnavailable() ?? orasUnavailable();
const temp = new TempDirs();
let keys: TestKeys;
let bundleDir: string;
let ca: TestCa;
let otherCa: TestCa;
/** Speaks HTTPS only, with a certificate from `ca`. */
let tlsRegistry: TestRegistry;
/** Speaks plain HTTP, for the mix-ups. */
let plainRegistry: TestRegistry;

before(async () => {
  if (skip) return;
  keys = await makeKeys(await temp.make());
  bundleDir = await temp.make();
  // Over 8 MiB, so the chunked upload and the streamed download run over TLS, not just small requests.
  await makeSignedBundle(bundleDir, keys.signingKey, { extraFiles: { 'weights/big.bin': seededBytes('tls', 9 * 1024 * 1024 + 3) } });
  ca = await makeTestCa(await temp.make());
  otherCa = await makeTestCa(await temp.make(), 'some other CA');
  tlsRegistry = await startRegistry({ tls: { certFile: ca.certFile, keyFile: ca.keyFile } });
  plainRegistry = await startRegistry();
});
after(async () => {
  await tlsRegistry?.stop();
  await plainRegistry?.stop();
  await temp.cleanup();
});

async function storeWith(options: { caFile?: string; plainHttp?: boolean }): Promise<OciBundleStore> {
  return new OciBundleStore({ cache: new BlobCache(join(await temp.make(), 'cache')), plainHttp: options.plainHttp ?? false, ...(options.caFile ? { caFile: options.caFile } : {}) });
}

function oras(args: string[], cwd?: string): string {
  const r = run(ORAS_BIN, args, { ...(cwd ? { cwd } : {}), env: { ...process.env, DOCKER_CONFIG: join(bundleDir, 'no-docker-config') } });
  assert.equal(r.status, 0, `oras ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function cliEnv(extra: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const home = await temp.make();
  return { PATH: process.env.PATH, MODELSHIP_HOME: home, MODELSHIP_LOG_LEVEL: 'error', DOCKER_CONFIG: home, ...extra };
}

describe('a registry over HTTPS with a private CA', { skip }, () => {
  it('with the CA file: push, pull and verify; the pulled files are the pushed ones', async () => {
    const store = await storeWith({ caFile: ca.caFile });
    const pushed = await store.pushBundle(bundleDir, `${tlsRegistry.address}/tls/roundtrip:1.0.0`);
    const out = await temp.make();
    const pulled = await store.pullBundle(pushed.reference, out, { useCache: false });
    assert.equal(pulled.manifest.digest, pushed.manifest.digest);
    for (const f of await listModelFiles(join(bundleDir, 'model'))) {
      assert.ok((await readFile(join(out, 'model', f.path))).equals(await readFile(join(bundleDir, 'model', f.path))), f.path);
    }
    const env = await cliEnv({ MODELSHIP_REGISTRY_CA_FILE: ca.caFile, MODELSHIP_REGISTRY_PLAIN_HTTP: '0' });
    const verified = await runCli(['verify', pushed.reference, '--key', keys.files.publicKeyPath], env);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
  });

  it('oras reads what modelship pushed over TLS byte for byte, and modelship reads what oras pushed', async () => {
    const env = await cliEnv({ MODELSHIP_REGISTRY_CA_FILE: ca.caFile, MODELSHIP_REGISTRY_PLAIN_HTTP: '0' });
    const reference = `${tlsRegistry.address}/tls/to-oras:1.0.0`;
    const pushed = await runCli(['push', bundleDir, reference], env);
    assert.equal(pushed.code, 0, pushed.stderr);
    const out = await temp.make();
    oras(['pull', '--ca-file', ca.caFile, reference, '-o', out]);
    const files = await listModelFiles(out);
    assert.deepEqual(files.map((f) => f.path), ['sample-mlp.onnx', 'weights/big.bin']);
    for (const f of files) assert.ok((await readFile(join(out, f.path))).equals(await readFile(join(bundleDir, 'model', f.path))), f.path);

    const src = await temp.make();
    const weights = seededBytes('from-oras-tls', 10 * 1024 * 1024 + 1);
    await writeFile(join(src, 'weights.bin'), weights);
    const fromOras = `${tlsRegistry.address}/tls/from-oras:1.0.0`;
    oras(['push', '--ca-file', ca.caFile, '--artifact-type', MODEL_ARTIFACT, fromOras, `weights.bin:${MODEL_LAYER.weight}`], src);
    const model = join(await temp.make(), 'model');
    await (await storeWith({ caFile: ca.caFile })).pullModel(fromOras, model);
    assert.ok((await readFile(join(model, 'weights.bin'))).equals(weights));
  });

  it('without the CA, or trusting another CA: non-retryable, names the registry and MODELSHIP_REGISTRY_CA_FILE', async () => {
    for (const caFile of [undefined, otherCa.caFile]) {
      const store = await storeWith(caFile ? { caFile } : {});
      const err = await store.pullBundle(`${tlsRegistry.address}/tls/roundtrip:1.0.0`, await temp.make()).then(
        () => assert.fail('pulled from a registry whose certificate is not trusted'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RegistryTlsError, `${caFile ?? 'no CA'}: ${String(err)}`);
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`registry ${tlsRegistry.address} presented a TLS certificate this host does not trust`));
      assert.match(err.message, /MODELSHIP_REGISTRY_CA_FILE/);
    }
    // The CLI says the same and exits non-zero.
    const cli = await runCli(['pull', `${tlsRegistry.address}/tls/roundtrip:1.0.0`, await temp.make()], await cliEnv({ MODELSHIP_REGISTRY_PLAIN_HTTP: '0' }));
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /does not trust .*MODELSHIP_REGISTRY_CA_FILE/s);
  });

  it('plain HTTP to the HTTPS port (the localhost default), and TLS to a plain port: each says which way to switch', async () => {
    const plainToTls = await (await storeWith({ plainHttp: true })).pullBundle(`${tlsRegistry.address}/tls/roundtrip:1.0.0`, await temp.make()).catch((e: unknown) => e);
    assert.ok(plainToTls instanceof RegistryTlsError, String(plainToTls));
    assert.match(plainToTls.message, new RegExp(`registry ${tlsRegistry.address} speaks HTTPS .*MODELSHIP_REGISTRY_PLAIN_HTTP=0`));

    const tlsToPlain = await (await storeWith({ caFile: ca.caFile })).pullBundle(`${plainRegistry.address}/x/y:1.0.0`, await temp.make()).catch((e: unknown) => e);
    assert.ok(tlsToPlain instanceof RegistryTlsError, String(tlsToPlain));
    assert.match(tlsToPlain.message, new RegExp(`registry ${plainRegistry.address} does not answer TLS .*--plain-http`));
  });

  it('a trusted certificate for another name is refused as such', async () => {
    const elsewhere = await makeTestCa(await temp.make(), 'a CA for another host', 'DNS:registry.example');
    const misnamed = await startRegistry({ tls: { certFile: elsewhere.certFile, keyFile: elsewhere.keyFile } });
    try {
      const err = await (await storeWith({ caFile: elsewhere.caFile })).pullBundle(`${misnamed.address}/tls/x:1.0.0`, await temp.make()).catch((e: unknown) => e);
      assert.ok(err instanceof RegistryTlsError, String(err));
      assert.match(err.message, new RegExp(`registry ${misnamed.address} presented a TLS certificate for another name \\(ERR_TLS_CERT_ALTNAME_INVALID`));
    } finally {
      await misnamed.stop();
    }
  });

  it('a CA file that is missing or holds no certificate is refused naming the file; a stopped registry stays retryable', async () => {
    const missing = join(await temp.make(), 'absent.pem');
    const notPem = join(await temp.make(), 'not-a-cert.pem');
    await writeFile(notPem, 'hello\n');
    for (const [caFile, problem] of [
      [missing, /cannot read the registry CA file .*absent\.pem .*ENOENT/],
      [notPem, /registry CA file .*not-a-cert\.pem .*holds no PEM certificate/],
    ] as const) {
      const err = await (await storeWith({ caFile })).pullBundle(`${tlsRegistry.address}/tls/roundtrip:1.0.0`, await temp.make()).catch((e: unknown) => e);
      assert.ok(err instanceof RegistryTlsError, String(err));
      assert.match(err.message, problem);
    }
    // TLS errors are only those: a registry that is not there is still "unreachable" and retryable.
    const stopped = await startRegistry({ tls: { certFile: ca.certFile, keyFile: ca.keyFile } });
    await stopped.stop();
    const down = await (await storeWith({ caFile: ca.caFile })).pullBundle(`${stopped.address}/tls/roundtrip:1.0.0`, await temp.make()).catch((e: unknown) => e);
    assert.ok(down instanceof RegistryUnavailableError, String(down));
    assert.equal(down.retryable, true);
  });
});
