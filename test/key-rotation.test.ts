// Key rotation end to end: keys rotate/list/revoke, a dual-signed release (the sign activity signs
// with every valid signer), verifyBundle against keyring and policy, and the serving runtime's trust folder.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { verifyBundle } from '../src/bundle/verify.js';
import { MANIFEST_JWS_TYP } from '../src/bundle/manifest.js';
import { loadSigningKey } from '../src/crypto/keys.js';
import { verifyForServing } from '../src/serving/control/loaded-model.js';
import { BundleRefusedError } from '../src/errors/index.js';
import { keysList, keysRevoke, keysRotate } from '../src/cli/keys.js';
import { loadKeyring, signGeneralJwsMulti } from '../src/trust/index.js';
import { signManifest } from '../src/activities/sign-manifest.js';
import { makeSignedBundle } from './helpers/bundle-fixture.js';
import { TempDirs, TEST_PASSPHRASE } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

test('rotate → dual-signed release → verify with policy → serving trust folder → revoke', async () => {
  const dir = await temp.make('wiring-');
  const keysDir = join(dir, 'keys');
  process.env.MODELSHIP_KEY_PASSPHRASE = TEST_PASSPHRASE;
  await keysRotate({ dir: keysDir, name: 'release-a', json: true });
  await keysRotate({ dir: keysDir, name: 'release-b', retireOldAfterDays: '30', json: true });
  const keyring = await loadKeyring(join(keysDir, 'keyring.json'));
  const [a, b] = keyring.entries.map((e) => e.kid) as [string, string];
  assert.equal(keyring.activeSigners(new Date()).length, 2);
  assert.ok(keyring.get(a)!.notAfter);
  await keysList({ dir: keysDir });

  // A bundle signed by key a (fixture), then re-signed by the sign activity with every active signer.
  const signerA = await loadSigningKey(join(keysDir, 'release-a.key.pem'), TEST_PASSPHRASE);
  const bundle = await makeSignedBundle(join(dir, 'bundle'), signerA, { name: 'fraud-eu' });
  const signed = await signManifest({ bundlesRoot: dir, passphrase: async () => TEST_PASSPHRASE } as any, { bundleDir: bundle.bundleDir, signingKeyPath: join(keysDir, 'release-b.key.pem') });
  assert.deepEqual(signed.kids, [a, b]);
  // What the attest and smoke activities write with the proposed diff: envelopes signed by both.
  const { signEnvelopeMulti } = await import('../src/trust/multi-sign.js');
  const signerB = await loadSigningKey(join(keysDir, 'release-b.key.pem'), TEST_PASSPHRASE);
  for (const path of [bundle.paths.provenance, bundle.paths.smoke]) {
    const env = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify(signEnvelopeMulti(Buffer.from(env.payload, 'base64'), env.payloadType, [signerA, signerB])));
  }

  const policyPath = join(keysDir, 'trust-policy.yaml');
  await writeFile(policyPath, `version: 1\nrules:\n  - models: [fraud-*]\n    trustedKids: [${a}, ${b}]\n    threshold: 2\ndefault:\n  trustedKids: [${b}]\n  threshold: 1\n`);
  const { loadTrustPolicy } = await import('../src/trust/policy.js');
  const policy = await loadTrustPolicy(policyPath);
  const report = await verifyBundle(bundle.bundleDir, { keyring, policy });
  assert.equal(report.ok, true, JSON.stringify(report.checks));
  assert.equal(report.policy!.counted, 2);

  // Serving: a trust folder with public keys, keyring.json and the policy.
  const trusted = join(dir, 'trusted');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(trusted);
  for (const f of ['release-a.pub.pem', 'release-b.pub.pem', 'keyring.json', 'trust-policy.yaml']) await copyFile(join(keysDir, f), join(trusted, f));
  const verified = await verifyForServing(bundle.bundleDir, trusted);
  assert.equal(verified.ref.kid, `${a},${b}`);

  // Revoke a: 2-of-2 for fraud-* can no longer be met; serving refuses with the reason.
  await keysRevoke(a, { dir: trusted, reason: 'laptop stolen' });
  await assert.rejects(verifyForServing(bundle.bundleDir, trusted), (err: unknown) => {
    assert.ok(err instanceof BundleRefusedError);
    assert.match(err.message, /revoked at .*: laptop stolen/);
    return true;
  });
  // A broken trust setup refuses rather than falling back to the key files.
  await writeFile(join(trusted, 'keyring.json'), '{');
  await assert.rejects(verifyForServing(bundle.bundleDir, trusted), /the trust setup in .* is invalid/);

  // The existing key-file path still takes a dual-signed bundle (it picks whichever kid it trusts).
  const legacy = join(dir, 'legacy');
  await mkdir(legacy);
  await copyFile(join(keysDir, 'release-b.pub.pem'), join(legacy, 'release-b.pub.pem'));
  assert.equal((await verifyForServing(bundle.bundleDir, legacy)).ref.kid, b);
  const jws = JSON.parse(await readFile(bundle.paths.signature, 'utf8'));
  assert.deepEqual(jws, signGeneralJwsMulti(await readFile(bundle.paths.manifest), [signerA, await loadSigningKey(join(keysDir, 'release-b.key.pem'), TEST_PASSPHRASE)], MANIFEST_JWS_TYP));
});
