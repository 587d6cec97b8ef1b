// verifyBundle against a real signed bundle: it passes untouched, and every single-byte change
// to model.yaml, model.jws or the provenance envelope (and sampled changes to the model) fails
// the check that covers that file.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openBundle, verifyBundle, type CheckName, type VerificationReport } from '../src/bundle/verify.js';
import { loadPublicKey } from '../src/crypto/keys.js';
import { makeSignedBundle, type SignedBundle } from './helpers/bundle-fixture.js';
import { makeKeys, runShell, TempDirs, type TestKeys } from './helpers/fixtures.js';

const temp = new TempDirs();
after(() => temp.cleanup());

// A changed byte in model.yaml often turns into a YAML tag ('!') or a complex key, which the yaml
// library reports through process warnings. Thousands of those are expected here: keep them out of
// the test output, and let every other warning through.
const warningListeners = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'YAMLWarning' || /^Keys with collection values will be stringified/.test(warning.message)) return;
  for (const listener of warningListeners) listener(warning);
});

const ALL_CHECKS: readonly CheckName[] = ['manifest', 'files', 'root-digest', 'signature', 'provenance', 'smoke'];

let keys: TestKeys;
let other: TestKeys;
let bundle: SignedBundle;
let base: string;
before(async () => {
  base = await temp.make('modelship-verify-');
  keys = await makeKeys(join(base, 'keys'), 'release');
  other = await makeKeys(join(base, 'keys'), 'other');
  bundle = await makeSignedBundle(join(base, 'bundle'), keys.signingKey);
});

function failing(report: VerificationReport): CheckName[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.check);
}

function detail(report: VerificationReport, check: CheckName): string {
  const found = report.checks.find((c) => c.check === check);
  assert.ok(found, `no ${check} check in the report`);
  return found.detail;
}

async function assertVerifies(where: string): Promise<void> {
  const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
  assert.equal(report.ok, true, `${where}: the untouched bundle no longer verifies: ${JSON.stringify(report.checks)}`);
}

/** A printable, non-space ASCII character different from `byte`, varying with the position. */
function printableOtherThan(byte: number, position: number): number {
  const first = 0x21;
  const count = 0x7e - 0x21 + 1;
  let c = first + ((position * 37) % count);
  if (c === byte) c = first + ((c - first + 1) % count);
  return c;
}

type Mutation = 'xor 0x01' | 'printable';

function mutate(original: Buffer, position: number, kind: Mutation): Buffer {
  const copy = Buffer.from(original);
  copy[position] = kind === 'xor 0x01' ? copy[position]! ^ 0x01 : printableOtherThan(copy[position]!, position);
  assert.notEqual(copy[position], original[position]);
  return copy;
}

/**
 * Changes one byte at a time, verifies, restores. Returns a description of each position where
 * the report did not meet `expect` (empty when all did).
 */
async function sweep(
  path: string,
  kind: Mutation,
  expect: (report: VerificationReport, position: number) => string | undefined,
  skip: (position: number) => boolean = () => false,
): Promise<{ problems: string[]; tried: number }> {
  const original = await readFile(path);
  const problems: string[] = [];
  let tried = 0;
  try {
    for (let position = 0; position < original.length; position++) {
      if (skip(position)) continue;
      const changed = mutate(original, position, kind);
      await writeFile(path, changed);
      const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
      tried++;
      const problem = report.ok ? 'verified OK' : expect(report, position);
      if (problem) {
        const context = JSON.stringify(original.subarray(Math.max(0, position - 12), position + 12).toString('latin1'));
        problems.push(`byte ${position} (${JSON.stringify(String.fromCharCode(original[position]!))} → ${JSON.stringify(String.fromCharCode(changed[position]!))}) near ${context}: ${problem}; failing=${failing(report).join(',')}`);
      }
    }
  } finally {
    await writeFile(path, original);
  }
  return { problems, tried };
}

function assertNoProblems(file: string, kind: Mutation, result: { problems: string[]; tried: number }, minimum: number): void {
  assert.ok(result.tried >= minimum, `${file}: only ${result.tried} positions tried`);
  assert.deepEqual(result.problems.slice(0, 20), [], `${file} (${kind}): ${result.problems.length} of ${result.tried} changes were not caught as expected`);
}

const expectExactly =
  (checks: readonly CheckName[], detailPrefix: string) =>
  (report: VerificationReport): string | undefined => {
    const got = failing(report);
    if (got.join() !== checks.join()) return `expected exactly [${checks.join(', ')}] to fail`;
    for (const check of checks) if (!detail(report, check).startsWith(detailPrefix)) return `${check} detail ${JSON.stringify(detail(report, check))}`;
    return undefined;
  };

/** Byte positions of the letters of the `"keyid"` member name in the envelope file. */
function keyidNamePositions(text: Buffer): Set<number> {
  const at = text.indexOf('"keyid"');
  assert.ok(at >= 0, 'the envelope has no "keyid" member');
  assert.equal(text.indexOf('"keyid"', at + 1), -1, 'expected a single signature');
  return new Set([1, 2, 3, 4, 5].map((i) => at + i));
}

describe('verifyBundle on a freshly built bundle', () => {
  test('every check runs and passes, in order, with the signer kid', async () => {
    const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
    assert.equal(report.ok, true, JSON.stringify(report.checks, null, 2));
    assert.equal(report.kid, keys.publicKey.kid);
    assert.equal(report.bundleDir, bundle.bundleDir);
    assert.deepEqual(report.checks.map((c) => c.check), ALL_CHECKS);
    for (const c of report.checks) assert.equal(c.ok, true, `${c.check}: ${c.detail}`);
    assert.match(detail(report, 'root-digest'), new RegExp(`^sha256:${bundle.manifest.digest.root} \\(modelship-root-v2\\)$`));
    assert.match(detail(report, 'signature'), new RegExp(`EdDSA by kid ${keys.publicKey.kid} over model.yaml`));
    assert.match(detail(report, 'provenance'), new RegExp(`subject sha256:${bundle.manifest.digest.root}$`));
  });

  test('also with the public key read from the JWK file', async () => {
    const fromJwk = await loadPublicKey(keys.files.publicJwkPath);
    assert.equal((await verifyBundle(bundle.bundleDir, fromJwk)).ok, true);
  });

  test("the manifest's root digest equals the documented coreutils recipe run on model/", () => {
    const recipe = runShell("find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum", { cwd: bundle.paths.modelDir });
    assert.equal(recipe.status, 0, recipe.stderr);
    assert.equal(recipe.stdout.slice(0, 64), bundle.manifest.digest.root);
  });

  test('the files are laid out and formatted as documented', async () => {
    assert.equal(await readFile(bundle.paths.manifest, 'utf8'), bundle.manifestText);
    assert.equal(await readFile(bundle.paths.signature, 'utf8'), JSON.stringify(bundle.jws, null, 2) + '\n');
    assert.equal(await readFile(bundle.paths.provenance, 'utf8'), JSON.stringify(bundle.envelope, null, 2) + '\n');
    assert.equal(await readFile(bundle.paths.smoke, 'utf8'), JSON.stringify(bundle.smokeEnvelope, null, 2) + '\n');
    assert.deepEqual(bundle.manifest.files.map((f) => f.path), ['sample-mlp.onnx']);
  });
});

describe('every single-byte change to a signed file is caught', () => {
  for (const kind of ['xor 0x01', 'printable'] as const) {
    test(`model.yaml, every byte (${kind}): signature and provenance fail`, async () => {
      const result = await sweep(bundle.paths.manifest, kind, (report) => {
        const got = failing(report);
        if (!got.includes('signature') || !got.includes('provenance')) return 'signature and provenance must both fail';
        if (!/the signature verifies, but its payload is not the model\.yaml in the bundle/.test(detail(report, 'signature'))) {
          return `signature detail ${JSON.stringify(detail(report, 'signature'))}`;
        }
        if (!/records a different model\.yaml|is not the manifest's root/.test(detail(report, 'provenance'))) {
          return `provenance detail ${JSON.stringify(detail(report, 'provenance'))}`;
        }
        if (got.includes('manifest') && !(got.includes('files') && got.includes('root-digest'))) return 'an unreadable manifest must fail files and root-digest too';
        return undefined;
      });
      assertNoProblems('model.yaml', kind, result, bundle.manifestText.length);
      await assertVerifies('model.yaml');
    });

    test(`model.jws, every byte (${kind}): exactly signature fails`, async () => {
      const result = await sweep(bundle.paths.signature, kind, expectExactly(['signature'], 'model.jws: '));
      assertNoProblems('model.jws', kind, result, 1000);
      await assertVerifies('model.jws');
    });

    test(`attestations/provenance.dsse.json, every byte (${kind}): exactly provenance fails`, async () => {
      const result = await sweep(bundle.paths.provenance, kind, expectExactly(['provenance'], 'attestations/provenance.dsse.json: '));
      assertNoProblems('provenance.dsse.json', kind, result, 1000);
      await assertVerifies('provenance.dsse.json');
    });

    test(`attestations/smoke.dsse.json, every byte (${kind}): exactly smoke fails`, async () => {
      const result = await sweep(bundle.paths.smoke, kind, expectExactly(['smoke'], 'attestations/smoke.dsse.json: '));
      assertNoProblems('smoke.dsse.json', kind, result, 500);
      await assertVerifies('smoke.dsse.json');
    });
  }

  test(
    'attestations/provenance.dsse.json, the "keyid" member name: exactly provenance fails',
    async () => {
      const positions = keyidNamePositions(await readFile(bundle.paths.provenance));
      for (const kind of ['xor 0x01', 'printable'] as const) {
        const result = await sweep(bundle.paths.provenance, kind, expectExactly(['provenance'], 'attestations/provenance.dsse.json: '), (p) => !positions.has(p));
        assertNoProblems('provenance.dsse.json keyid', kind, result, positions.size);
      }
      await assertVerifies('provenance.dsse.json');
    },
  );
});

describe('changes to the model and the model folder', () => {
  test('a flipped byte at ~64 positions across the model (first, last, evenly spaced): files fails naming the file', async () => {
    const path = join(bundle.paths.modelDir, bundle.modelFile);
    const original = await readFile(path);
    const positions = [...new Set(Array.from({ length: 64 }, (_, i) => Math.round((i * (original.length - 1)) / 63)))];
    assert.equal(positions[0], 0);
    assert.equal(positions.at(-1), original.length - 1);
    assert.ok(positions.length >= 60);
    try {
      for (const position of positions) {
        const changed = Buffer.from(original);
        changed[position]! ^= 0x01;
        await writeFile(path, changed);
        const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
        assert.equal(report.ok, false, `byte ${position}`);
        assert.deepEqual(failing(report), ['files'], `byte ${position}`);
        assert.match(detail(report, 'files'), /^model\/sample-mlp\.onnx: sha256 [0-9a-f]{64}, model\.yaml says [0-9a-f]{64} \(modelship-root-v2 \(64 MiB shards\)\)$/, `byte ${position}`);
      }
    } finally {
      await writeFile(path, original);
    }
    await assertVerifies('model');
  });

  test('a model one byte shorter or longer: files fails on the size', async () => {
    const path = join(bundle.paths.modelDir, bundle.modelFile);
    const original = await readFile(path);
    try {
      for (const changed of [original.subarray(0, -1), Buffer.concat([original, Buffer.from([0])])]) {
        await writeFile(path, changed);
        const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
        assert.deepEqual(failing(report), ['files']);
        assert.match(detail(report, 'files'), new RegExp(`^model/sample-mlp\\.onnx: size ${changed.length}, model\\.yaml says ${original.length}$`));
      }
    } finally {
      await writeFile(path, original);
    }
    await assertVerifies('model size');
  });

  test('an extra file dropped into model/ (top level or nested) fails files, naming it', async () => {
    for (const rel of ['extra.bin', 'nested/dir/extra.txt', 'sample-mlp.onnx.bak']) {
      const path = join(bundle.paths.modelDir, rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, 'not part of the release\n');
      try {
        const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
        assert.equal(report.ok, false, rel);
        assert.deepEqual(failing(report), ['files'], rel);
        assert.equal(detail(report, 'files'), `model/${rel} is not in model.yaml`);
      } finally {
        await rm(path);
        if (rel.includes('/')) await rm(join(bundle.paths.modelDir, 'nested'), { recursive: true });
      }
    }
    await assertVerifies('extra file');
  });

  test(
    'an extra file with an ignored name (.DS_Store, .gitattributes, .git/) dropped into model/ fails files too',
    async () => {
      for (const rel of ['.DS_Store', '.gitattributes', '.git/config', 'nested/.gitignore']) {
        const path = join(bundle.paths.modelDir, rel);
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, 'not part of the release\n');
        try {
          const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
          assert.deepEqual(failing(report), ['files'], rel);
          assert.equal(detail(report, 'files'), `model/${rel} is not in model.yaml`);
        } finally {
          await rm(join(bundle.paths.modelDir, rel.split('/')[0]!), { recursive: true });
        }
      }
      await assertVerifies('ignored extra file');
    },
  );

  test('a missing model file fails files, naming it', async () => {
    const path = join(bundle.paths.modelDir, bundle.modelFile);
    const original = await readFile(path);
    await rm(path);
    try {
      const report = await verifyBundle(bundle.bundleDir, keys.publicKey);
      assert.deepEqual(failing(report), ['files']);
      assert.match(detail(report, 'files'), /^model\/sample-mlp\.onnx is missing$/);
    } finally {
      await writeFile(path, original);
    }
    await assertVerifies('missing model');
  });
});

describe('digest rules: sharded large files (v2) and bundles from before shards (v1)', () => {
  const SHARD = 64 * 1024 * 1024;
  const weights = Buffer.alloc(2 * SHARD + 777);
  for (let at = 0; at < weights.length; at += 4096) weights.writeUInt32LE(at, at);

  test('a v2 bundle with a 3-shard file verifies; one flipped byte in its last shard fails files, naming the file', async () => {
    const large = await makeSignedBundle(join(await temp.make('modelship-verify-v2-'), 'bundle'), keys.signingKey, { extraFiles: { 'weights.bin': weights } });
    assert.deepEqual([large.manifest.digest.rule, large.manifest.digest.shardBytes], ['modelship-root-v2', SHARD]);
    const opened = await openBundle(large.bundleDir, keys.publicKey);
    assert.equal(opened.report.ok, true);
    // Smoke and serving get the model bytes the check read, and only when every check passed.
    assert.ok(opened.verified!.model.equals(await readFile(join(large.paths.modelDir, large.modelFile))));
    const path = join(large.paths.modelDir, 'weights.bin');
    const changed = Buffer.from(weights);
    changed[2 * SHARD + 5]! ^= 0x80;
    await writeFile(path, changed);
    const { report, verified } = await openBundle(large.bundleDir, keys.publicKey);
    assert.deepEqual(failing(report), ['files']);
    assert.equal(verified, undefined);
    assert.match(detail(report, 'files'), /^model\/weights\.bin: sha256 [0-9a-f]{64}, model\.yaml says [0-9a-f]{64}/);
  });

  test('a v1 bundle (every file its plain SHA-256) still verifies, and is checked under v1', async () => {
    const old = await makeSignedBundle(join(await temp.make('modelship-verify-v1-'), 'bundle'), keys.signingKey, {
      extraFiles: { 'weights.bin': weights },
      digestRule: { name: 'modelship-root-v1' },
    });
    assert.equal(old.manifestText.includes('shardBytes'), false);
    const report = await verifyBundle(old.bundleDir, keys.publicKey);
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.match(detail(report, 'root-digest'), /\(modelship-root-v1\)$/);
    const recipe = runShell("find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum", { cwd: old.paths.modelDir });
    assert.equal(recipe.stdout.slice(0, 64), old.manifest.digest.root);
  });
});

describe('the smoke test result', () => {
  test('a FAILED smoke result fails verification, naming what failed; WARNED passes and says why', async () => {
    const base2 = await temp.make('modelship-verify-smoke-');
    const failedBundle = await makeSignedBundle(join(base2, 'failed'), keys.signingKey, { smokeResult: 'FAILED' });
    const report = await verifyBundle(failedBundle.bundleDir, keys.publicKey);
    assert.deepEqual(failing(report), ['smoke']);
    assert.match(detail(report, 'smoke'), /the smoke test result is FAILED: outputs-agree: probabilities: max absolute difference/);
    const warned = await makeSignedBundle(join(base2, 'warned'), keys.signingKey, { smokeResult: 'WARNED' });
    const ok = await verifyBundle(warned.bundleDir, keys.publicKey);
    assert.equal(ok.ok, true);
    assert.match(detail(ok, 'smoke'), /WARNED: sandbox-inference: unsupported operator X/);
  });
});

describe('keys and replayed files', () => {
  test('a wrong public key fails signature and provenance (and nothing else)', async () => {
    const report = await verifyBundle(bundle.bundleDir, other.publicKey);
    assert.equal(report.ok, false);
    assert.equal(report.kid, other.publicKey.kid);
    assert.deepEqual(failing(report), ['signature', 'provenance', 'smoke']);
    assert.match(detail(report, 'signature'), new RegExp(`^model\\.jws: signature 0: made by kid ${keys.publicKey.kid}, not the given key ${other.publicKey.kid}$`));
    assert.match(detail(report, 'provenance'), new RegExp(`keyid ${keys.publicKey.kid} is not the given key ${other.publicKey.kid}`));
  });

  test('files from another validly signed release of the same model do not pass', async () => {
    const second = await makeSignedBundle(join(base, 'bundle-1.0.1'), keys.signingKey, { version: '1.0.1', releaseId: 'release-sample-mlp-1.0.1' });
    assert.equal((await verifyBundle(second.bundleDir, keys.publicKey)).ok, true);
    assert.equal(second.manifest.digest.root, bundle.manifest.digest.root, 'same model files, same root');
    const target = await temp.make('modelship-verify-replay-');
    let made = 0;
    async function fresh(): Promise<SignedBundle> {
      return makeSignedBundle(join(target, `b-${made++}`), keys.signingKey);
    }

    // Only model.jws from the other release: its payload is the other model.yaml.
    const a = await fresh();
    await copyFile(second.paths.signature, a.paths.signature);
    let report = await verifyBundle(a.bundleDir, keys.publicKey);
    assert.deepEqual(failing(report), ['signature']);
    assert.match(detail(report, 'signature'), /payload is not the model\.yaml in the bundle/);

    // Only the provenance: same subject (same files), but it records the other model.yaml.
    const b = await fresh();
    await copyFile(second.paths.provenance, b.paths.provenance);
    report = await verifyBundle(b.bundleDir, keys.publicKey);
    assert.deepEqual(failing(report), ['provenance']);
    assert.match(detail(report, 'provenance'), /records a different model\.yaml/);

    // A consistent model.yaml + model.jws pair from the other release: the provenance gives it away.
    const c = await fresh();
    await copyFile(second.paths.manifest, c.paths.manifest);
    await copyFile(second.paths.signature, c.paths.signature);
    report = await verifyBundle(c.bundleDir, keys.publicKey);
    assert.deepEqual(failing(report), ['provenance']);
  });

  test('missing model.jws or provenance fail their checks; a missing model.yaml fails everything', async () => {
    const dir = join(await temp.make('modelship-verify-missing-'), 'b');
    const b = await makeSignedBundle(dir, keys.signingKey);
    for (const [path, expected] of [
      [b.paths.signature, ['signature']],
      [b.paths.provenance, ['provenance']],
      [b.paths.smoke, ['smoke']],
      [b.paths.manifest, ['manifest', 'files', 'root-digest', 'signature', 'provenance', 'smoke']],
    ] as const) {
      const saved = await readFile(path);
      await rm(path);
      try {
        const report = await verifyBundle(b.bundleDir, keys.publicKey);
        assert.deepEqual(failing(report), expected, path);
      } finally {
        await writeFile(path, saved);
      }
    }
    assert.equal((await verifyBundle(b.bundleDir, keys.publicKey)).ok, true);
  });
});

describe('openBundle: the bytes returned are the bytes verified (a file swapped mid-way never runs)', () => {
  test('a model file swapped after it was hashed: the check passes on what was read, and those bytes are returned, not the swap', async () => {
    const b = await makeSignedBundle(join(await temp.make('modelship-verify-swap-'), 'bundle'), keys.signingKey);
    const modelPath = join(b.paths.modelDir, b.modelFile);
    const original = await readFile(modelPath);
    const hostile = Buffer.from(original);
    hostile[hostile.length - 5]! ^= 0x01;
    const { report, verified } = await openBundle(b.bundleDir, keys.publicKey, { afterFilesHashed: () => writeFile(modelPath, hostile) });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.ok((await readFile(modelPath)).equals(hostile), 'the file on disk is the swapped one');
    assert.ok(verified!.model.equals(original), 'openBundle returns the bytes it hashed');
    assert.ok(!verified!.model.equals(hostile));
    assert.equal(verified!.manifestBytes.toString('utf8'), b.manifestText);
    // Opened again, the swap is caught and nothing is returned.
    const again = await openBundle(b.bundleDir, keys.publicKey);
    assert.deepEqual(failing(again.report), ['files']);
    assert.equal(again.verified, undefined);
  });

  test('model.yaml swapped after it was read: the signature and the returned manifest are the first read', async () => {
    const b = await makeSignedBundle(join(await temp.make('modelship-verify-swap-'), 'bundle'), keys.signingKey);
    const forged = b.manifestText.replace(`version: ${b.manifest.version}`, 'version: 9.9.9');
    assert.notEqual(forged, b.manifestText);
    const { report, verified } = await openBundle(b.bundleDir, keys.publicKey, { afterFilesHashed: () => writeFile(b.paths.manifest, forged) });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.equal(verified!.manifest.version, b.manifest.version);
  });

  test('a manifest whose modelFile is not among its files fails the files check', async () => {
    const b = await makeSignedBundle(join(await temp.make('modelship-verify-modelfile-'), 'bundle'), keys.signingKey);
    await writeFile(b.paths.manifest, b.manifestText.replace(`modelFile: ${b.modelFile}`, 'modelFile: elsewhere.onnx'));
    const { report, verified } = await openBundle(b.bundleDir, keys.publicKey);
    assert.match(detail(report, 'files'), /modelFile elsewhere\.onnx is not among the manifest's files/);
    assert.equal(verified, undefined);
  });
});
