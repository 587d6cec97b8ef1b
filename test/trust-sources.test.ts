// One test per trust source, each through the single verified-bundle path: resolveTrust turns the
// source into a Trust, openBundle verifies under it and returns the bytes it verified. A bundle
// signed by a key outside the source is refused by every one, naming the signature check.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openBundle } from '../src/bundle/verify.js';
import { Keyring, saveKeyring } from '../src/trust/keyring.js';
import { resolveTrust, type TrustSource } from '../src/trust/trust-source.js';
import { TrustPolicyError } from '../src/errors/index.js';
import { makeSignedBundle, type SignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, TempDirs, type TestKeys } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

let keys: TestKeys;
let rogue: TestKeys;
let good: SignedBundle;
let untrusted: SignedBundle;
let trustDir: string;
let keyFilesDir: string;
let modelBytes: Buffer;

before(async () => {
  const base = await temp.make('modelship-trust-sources-');
  keys = await makeKeys(join(base, 'keys'), 'release');
  rogue = await makeKeys(join(base, 'rogue'), 'rogue');
  good = await makeSignedBundle(join(base, 'good'), keys.signingKey);
  untrusted = await makeSignedBundle(join(base, 'untrusted'), rogue.signingKey);
  modelBytes = await readFile(join(good.paths.modelDir, good.modelFile));

  // A trust folder: keyring.json and trust-policy.yaml (the worker's, and serving's policy mode).
  trustDir = join(base, 'trust');
  await mkdir(trustDir);
  await copyFile(keys.files.publicKeyPath, join(trustDir, 'release.pub.pem'));
  const keyring = new Keyring({ path: join(trustDir, 'keyring.json') });
  await keyring.add({ publicKeyPath: 'release.pub.pem', notBefore: new Date('2020-01-01T00:00:00Z') });
  await saveKeyring(keyring);
  await writeFile(join(trustDir, 'trust-policy.yaml'), `version: 1\nrules: []\ndefault:\n  trustedKids: [${keys.publicKey.kid}]\n  threshold: 1\n`);

  // Serving's original folder: public key files only.
  keyFilesDir = join(base, 'key-files');
  await mkdir(keyFilesDir);
  await copyFile(keys.files.publicKeyPath, join(keyFilesDir, 'release.pub.pem'));
  await copyFile(rogue.files.publicJwkPath, join(keyFilesDir, 'unrelated.jwk')); // not a key file name: ignored
});

const sources: Array<[string, () => TrustSource, RegExp]> = [
  ['the worker trust folder', () => ({ kind: 'worker-trust-dir', dir: trustDir }), /untrusted-for-model|not in the keyring/],
  ['a release\'s own keys', () => ({ kind: 'release-keys', signingKeyPath: keys.files.privateKeyPath, signers: [keys.signingKey] }), /not in the keyring/],
  ['serving\'s trusted keys folder, with a policy', () => ({ kind: 'serving-trusted-keys', dir: trustDir }), /not in the keyring/],
  ['serving\'s trusted keys folder, key files only', () => ({ kind: 'serving-trusted-keys', dir: keyFilesDir }), /signed by kid .* which is not a trusted key in /],
  ['the CLI\'s --key', () => ({ kind: 'public-key', path: keys.files.publicKeyPath }), /made by kid .*, not the given key/],
  ['the CLI\'s --keyring and --policy', () => ({ kind: 'keyring-and-policy', keyringPath: join(trustDir, 'keyring.json'), policyPath: join(trustDir, 'trust-policy.yaml') }), /not in the keyring/],
];

describe('every trust source goes through openBundle', () => {
  for (const [name, source, refusal] of sources) {
    test(`${name}: a bundle by a trusted key verifies and its model bytes come back; a rogue one is refused at the signature`, async () => {
      const trust = await resolveTrust(source());
      const { report, verified } = await openBundle(good.bundleDir, trust);
      assert.equal(report.ok, true, JSON.stringify(report.checks));
      assert.ok(verified!.model.equals(modelBytes));
      assert.deepEqual(verified!.kids, [keys.publicKey.kid]);
      assert.equal(verified!.manifest.digest.root, good.manifest.digest.root);

      const refused = await openBundle(untrusted.bundleDir, trust);
      assert.equal(refused.verified, undefined);
      const signature = refused.report.checks.find((c) => c.check === 'signature')!;
      assert.equal(signature.ok, false);
      assert.match(signature.detail, refusal);
    });
  }

  test('an unusable source refuses instead of falling back: a keyring without a policy, an empty key folder', async () => {
    const half = await temp.make('modelship-trust-half-');
    await copyFile(join(trustDir, 'keyring.json'), join(half, 'keyring.json'));
    await assert.rejects(resolveTrust({ kind: 'worker-trust-dir', dir: half }), (err: unknown) => err instanceof TrustPolicyError && /has keyring\.json but no/.test(err.message));
    await assert.rejects(resolveTrust({ kind: 'serving-trusted-keys', dir: half }), (err: unknown) => err instanceof TrustPolicyError && /has keyring\.json but no/.test(err.message));
    const empty = await temp.make('modelship-trust-empty-');
    await assert.rejects(resolveTrust({ kind: 'worker-trust-dir', dir: empty }), /holds no keyring\.json and trust-policy\.yaml/);
    await assert.rejects(resolveTrust({ kind: 'serving-trusted-keys', dir: empty }), /no trusted keys in /);
  });
});
