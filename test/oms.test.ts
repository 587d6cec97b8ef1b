// OpenSSF model signing (model_signing 1.1.1) in both directions, against the real
// `model_signing` CLI and real openssl keys: bundles we sign verify with `model_signing verify
// key`, bundles it signs verify with ours, and both sides refuse the same tampering.
import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../src/crypto/dsse.js';
import {
  OMS_BUNDLE_MEDIA_TYPE,
  OMS_PREDICATE_TYPE,
  buildOmsStatement,
  omsBundleJson,
  omsKeyHint,
  omsPayloadBytes,
  omsResourcesInOrder,
  signOmsBundle,
  signOmsPayload,
  verifyOmsBundle,
  type OmsVerifyReport,
} from '../src/oms/oms-bundle.js';
import { formatOmsReport, signOmsCommand, verifyOmsCommand } from '../src/oms/oms-command.js';
import { compareOmsPaths, listOmsFiles, normalizeOmsIgnorePath, OMS_GIT_PATHS } from '../src/oms/oms-files.js';
import { ModelSourceError } from '../src/errors/index.js';
import { PROJECT_ROOT, SAMPLE_MODEL, TempDirs, run, seededBytes } from './helpers/fixtures.js';

const VENV = join(PROJECT_ROOT, '.venv');
const MODEL_SIGNING = process.env.MODELSHIP_MODEL_SIGNING ?? join(VENV, 'bin', 'model_signing');
const INSTALL = 'npm test (scripts/setup.sh installs requirements.txt into .venv), or: .venv/bin/pip install -r requirements.txt';

let toolProblem: string | undefined | null = null;
/** Fails (never skips) when the real CLI is not there, saying how to install it. */
function requireModelSigning(): void {
  if (toolProblem === null) {
    if (!existsSync(MODEL_SIGNING)) {
      toolProblem = `model_signing is not installed at ${MODEL_SIGNING}. Install it with:\n  ${INSTALL}\n(or point MODELSHIP_MODEL_SIGNING at a model_signing binary)`;
    } else {
      const r = run(MODEL_SIGNING, ['verify', 'key', '--help']);
      toolProblem =
        r.status === 0
          ? undefined
          : `${MODEL_SIGNING} does not run (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}\n` +
            `model-signing 1.1.1 imports OpenSSL without declaring it; install both with:\n  ${INSTALL}`;
    }
  }
  if (toolProblem) assert.fail(toolProblem);
}

function theirSign(model: string, key: string, sig: string): void {
  requireModelSigning();
  const r = run(MODEL_SIGNING, ['sign', 'key', model, '--private_key', key, '--signature', sig]);
  assert.equal(r.status, 0, `model_signing sign key failed: ${r.stderr}`);
}

function theirVerify(model: string, sig: string, pub: string): { status: number | null; output: string } {
  requireModelSigning();
  const r = run(MODEL_SIGNING, ['verify', 'key', model, '--signature', sig, '--public_key', pub]);
  return { status: r.status, output: r.stdout + r.stderr };
}

function openssl(args: string[]): void {
  const r = run('openssl', args);
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

async function flipByte(path: string, offset?: number): Promise<void> {
  const bytes = await readFile(path);
  const at = offset ?? Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x01;
  await writeFile(path, bytes);
}

function failed(report: OmsVerifyReport): Array<{ check: string; path?: string }> {
  return report.checks.filter((c) => !c.ok).map((c) => ({ check: c.check, ...(c.path ? { path: c.path } : {}) }));
}

function payloadOf(bundleText: string): Record<string, any> {
  const bundle = JSON.parse(bundleText) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, any>;
}

const temp = new TempDirs();
after(() => temp.cleanup());

describe('OpenSSF model signing (model_signing 1.1.1 interop)', () => {
  let base: string; // holds the pristine model folder, the keys, and copies per test
  let pristine: string;
  const keys = {} as Record<'key' | 'pub' | 'otherKey' | 'otherPub' | 'p384Key' | 'p384Pub', string>;
  let copies = 0;

  /** A fresh copy of the model, always named tiny-model (the subject name). */
  async function freshModel(): Promise<string> {
    const dir = join(base, `copy-${++copies}`, 'tiny-model');
    await cp(pristine, dir, { recursive: true });
    return dir;
  }

  before(async () => {
    base = await temp.make('modelship-oms-');
    pristine = join(base, 'pristine', 'tiny-model');
    await mkdir(join(pristine, 'weights'), { recursive: true });
    await mkdir(join(pristine, '.git'), { recursive: true });
    await copyFile(SAMPLE_MODEL, join(pristine, 'sample-mlp.onnx'));
    await writeFile(join(pristine, 'config.json'), JSON.stringify({ architecture: 'mlp', inputs: 4, outputs: 3 }, null, 2) + '\n');
    await writeFile(join(pristine, 'tokenizer.json'), JSON.stringify({ version: '1.0', vocab: { '<pad>': 0, hello: 1, world: 2 } }) + '\n');
    await writeFile(join(pristine, 'weights', 'shard-0.bin'), seededBytes('oms-shard-0', 3 * 1024 * 1024 + 17));
    // Sorts before weights/ in byte order ('-' < '/') but after it in model_signing's order.
    await writeFile(join(pristine, 'weights-index.json'), JSON.stringify({ shards: ['weights/shard-0.bin'] }) + '\n');
    await writeFile(join(pristine, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    for (const [name, pubName, curve] of [
      ['key', 'pub', 'prime256v1'],
      ['otherKey', 'otherPub', 'prime256v1'],
      ['p384Key', 'p384Pub', 'secp384r1'],
    ] as const) {
      keys[name] = join(base, `${name}.pem`);
      keys[pubName] = join(base, `${pubName}.pem`);
      openssl(['ecparam', '-name', curve, '-genkey', '-noout', '-out', keys[name]]);
      openssl(['ec', '-in', keys[name], '-pubout', '-out', keys[pubName]]);
    }
  });

  test('the model_signing CLI is installed (setup must install it; this never skips)', () => {
    requireModelSigning();
  });

  test('the folder walk: top-level git paths ignored, model_signing order, not byte order', async () => {
    const model = await freshModel();
    const names = (await listOmsFiles(model, OMS_GIT_PATHS)).map((f) => f.name);
    assert.deepEqual(names, ['config.json', 'sample-mlp.onnx', 'tokenizer.json', 'weights/shard-0.bin', 'weights-index.json']);
    assert.ok(compareOmsPaths('weights/shard-0.bin', 'weights-index.json') < 0);
    assert.ok(Buffer.compare(Buffer.from('weights/shard-0.bin'), Buffer.from('weights-index.json')) > 0);
  });

  test('we build exactly the statement model_signing signs, and read its bundle format', async () => {
    const model = await freshModel();
    const sig = join(model, 'model.sig'); // inside: model_signing records and ignores it
    theirSign(model, keys.key, sig);
    const text = await readFile(sig, 'utf8');
    const bundle = JSON.parse(text) as Record<string, any>;
    const theirs = payloadOf(text);
    const { statement: ours } = await buildOmsStatement(model, { signaturePath: sig });

    assert.equal(bundle.mediaType, OMS_BUNDLE_MEDIA_TYPE);
    assert.deepEqual(bundle.verificationMaterial, { publicKey: { hint: omsKeyHint(createPublicKey(await readFile(keys.pub))) }, tlogEntries: [] });
    assert.equal(bundle.dsseEnvelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.deepEqual(Object.keys(bundle.dsseEnvelope.signatures[0]).sort(), ['keyid', 'sig']);
    assert.equal(bundle.dsseEnvelope.signatures[0].keyid, '');

    assert.equal(theirs._type, ours._type);
    assert.equal(theirs.predicateType, OMS_PREDICATE_TYPE);
    assert.deepEqual(theirs.subject, ours.subject); // name and sha256 over the raw digests in order
    assert.equal(theirs.subject[0].name, 'tiny-model');
    // Same resources in the same order (their object keys come in no fixed order: compare values).
    assert.deepEqual(
      theirs.predicate.resources.map((r: Record<string, string>) => [r.name, r.algorithm, r.digest]),
      ours.predicate.resources.map((r) => [r.name, r.algorithm, r.digest]),
    );
    assert.ok(omsResourcesInOrder(theirs.predicate.resources));
    const { ignore_paths: theirIgnores, ...theirSer } = theirs.predicate.serialization;
    const { ignore_paths: ourIgnores, ...ourSer } = ours.predicate.serialization;
    assert.deepEqual(theirSer, ourSer);
    assert.deepEqual([...theirIgnores].sort(), [...(ourIgnores ?? [])].sort());
    assert.deepEqual([...(ourIgnores ?? [])].sort(), ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig']);

    // The ECDSA signature is DER (ASN.1 SEQUENCE), SHA-256 for P-256, over the DSSE PAE.
    const der = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    assert.equal(der[0], 0x30);
    const signed = pae(IN_TOTO_PAYLOAD_TYPE, Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
    assert.ok(cryptoVerify('sha256', signed, { key: createPublicKey(await readFile(keys.pub)), dsaEncoding: 'der' }, der));
    // The payload is two-space indented JSON without a trailing newline, like ours.
    const payloadText = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8');
    assert.match(payloadText, /^\{\n {2}"_type": /);
    assert.ok(!payloadText.endsWith('\n'));
    assert.match(omsPayloadBytes(ours).toString('utf8'), /^\{\n {2}"_type": /);
  });

  test('ours → theirs: model_signing verify key accepts our bundle, and refuses a flipped byte', async (t) => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    const signed = await signOmsCommand(model, keys.key, sig);
    assert.equal(signed.files, 5);
    assert.equal(signed.subject.name, 'tiny-model');
    t.diagnostic(`ours: signed ${signed.files} files (${signed.bytes} bytes) in ${signed.ms.toFixed(1)} ms`);
    const started = performance.now();
    const good = theirVerify(model, sig, keys.pub);
    t.diagnostic(`theirs: model_signing verify key took ${(performance.now() - started).toFixed(0)} ms (process included)`);
    assert.equal(good.status, 0, good.output);
    assert.match(good.output, /Verification succeeded/);

    // The ignored .git folder may change freely.
    await writeFile(join(model, '.git', 'HEAD'), 'ref: refs/heads/other\n');
    assert.equal(theirVerify(model, sig, keys.pub).status, 0);

    await flipByte(join(model, 'weights', 'shard-0.bin'));
    const bad = theirVerify(model, sig, keys.pub);
    assert.notEqual(bad.status, 0, 'model_signing accepted a changed shard');
    // model_signing prints a Python list repr: quotes may come escaped.
    assert.match(bad.output, /Hash mismatch for \\?'weights\/shard-0\.bin\\?'/);
  });

  test('ours → theirs: signOmsBundle with a KeyObject and a signature outside the folder; P-384 too', async () => {
    for (const [key, pub] of [
      [keys.key, keys.pub],
      [keys.p384Key, keys.p384Pub],
    ] as const) {
      const model = await freshModel();
      const sig = join(model, '..', 'outside.sig');
      const bundle = await signOmsBundle(model, createPrivateKey(await readFile(key)), { signaturePath: sig });
      assert.deepEqual(bundle.verificationMaterial.tlogEntries, []);
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      assert.deepEqual(statement.predicate.serialization.ignore_paths, OMS_GIT_PATHS); // outside: not recorded
      await writeFile(sig, omsBundleJson(bundle));
      const r = theirVerify(model, sig, pub);
      assert.equal(r.status, 0, `${pub}: ${r.output}`);
    }
  });

  test('theirs → ours: verifyOmsBundle accepts model_signing sign key, and names a flipped file', async (t) => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    const started = performance.now();
    theirSign(model, keys.key, sig);
    t.diagnostic(`theirs: model_signing sign key took ${(performance.now() - started).toFixed(0)} ms (process included)`);

    const good = await verifyOmsCommand(model, sig, keys.pub);
    t.diagnostic(`ours: verified in ${good.ms.toFixed(1)} ms`);
    assert.ok(good.ok, formatOmsReport(good).join('\n'));
    assert.deepEqual(
      good.checks.map((c) => c.check),
      ['bundle', 'key-hint', 'signature', 'payload', 'subject-digest', 'files'],
    );
    assert.equal(good.subject?.name, 'tiny-model');
    assert.equal(good.files, 5);

    // The API form, given the parsed bundle and the signature path to skip.
    const api = await verifyOmsBundle(model, JSON.parse(await readFile(sig, 'utf8')), await readFile(keys.pub, 'utf8'), { signaturePath: sig });
    assert.ok(api.ok);

    await flipByte(join(model, 'config.json'), 2);
    const bad = await verifyOmsCommand(model, sig, keys.pub);
    assert.equal(bad.ok, false);
    assert.deepEqual(failed(bad), [{ check: 'file-digest', path: 'config.json' }]);
    assert.match(formatOmsReport(bad).join('\n'), /FAIL file-digest +config\.json: sha256 is [0-9a-f]{64}, the signature says [0-9a-f]{64}/);
  });

  test('theirs → ours: a wrong public key fails on the signature (and the key hint), before any file is read', async () => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    theirSign(model, keys.key, sig);
    const report = await verifyOmsCommand(model, sig, keys.otherPub);
    assert.equal(report.ok, false);
    assert.deepEqual(failed(report).map((f) => f.check), ['key-hint', 'signature']);
    assert.equal(report.files, undefined);
    assert.equal(report.subject, undefined);
    // model_signing agrees.
    assert.notEqual(theirVerify(model, sig, keys.otherPub).status, 0);
  });

  test('theirs → ours: missing and extra files are named; P-384 bundles verify', async () => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    theirSign(model, keys.key, sig);
    await rm(join(model, 'tokenizer.json'));
    await writeFile(join(model, 'weights', 'notes.txt'), 'not signed\n');
    await writeFile(join(model, '.gitignore'), '*.tmp\n'); // ignored by default
    const report = await verifyOmsCommand(model, sig, keys.pub);
    assert.deepEqual(failed(report), [
      { check: 'extra-file', path: 'weights/notes.txt' },
      { check: 'missing-file', path: 'tokenizer.json' },
    ]);
    const theirs = theirVerify(model, sig, keys.pub);
    assert.notEqual(theirs.status, 0);
    assert.match(theirs.output, /Extra files found in model \\?'tiny-model\\?': weights\/notes\.txt/);
    assert.match(theirs.output, /Missing files in model \\?'tiny-model\\?': tokenizer\.json/);

    const model384 = await freshModel();
    theirSign(model384, keys.p384Key, join(model384, 'model.sig'));
    const ok384 = await verifyOmsCommand(model384, join(model384, 'model.sig'), keys.p384Pub);
    assert.ok(ok384.ok, formatOmsReport(ok384).join('\n'));
    assert.match(ok384.checks.find((c) => c.check === 'signature')!.detail, /P-384\/SHA384/);
  });

  test('a signed statement whose subject digest does not match its resources fails on both sides', async () => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    theirSign(model, keys.key, sig);
    const statement = payloadOf(await readFile(sig, 'utf8'));
    const [a, b] = statement.predicate.resources;
    statement.predicate.resources.splice(0, 2, b, a); // same files, other order: other subject digest
    await writeFile(sig, omsBundleJson(signOmsPayload(omsPayloadBytes(statement), await readFile(keys.key))));

    const report = await verifyOmsCommand(model, sig, keys.pub);
    assert.deepEqual(failed(report).map((f) => f.check), ['subject-digest']);
    const theirs = theirVerify(model, sig, keys.pub);
    assert.notEqual(theirs.status, 0);
    assert.match(theirs.output, /Manifest is inconsistent/);
  });

  test('an edited payload without a new signature fails on the signature; a non-bundle fails on the bundle', async () => {
    const model = await freshModel();
    const sig = join(model, 'model.sig');
    theirSign(model, keys.key, sig);
    const bundle = JSON.parse(await readFile(sig, 'utf8'));
    const statement = payloadOf(await readFile(sig, 'utf8'));
    statement.subject[0].name = 'renamed';
    bundle.dsseEnvelope.payload = omsPayloadBytes(statement).toString('base64');
    const report = await verifyOmsBundle(model, bundle, await readFile(keys.pub), { signaturePath: sig });
    assert.deepEqual(failed(report).map((f) => f.check), ['signature']);

    const notJson = await verifyOmsBundle(model, 'not json', await readFile(keys.pub));
    assert.deepEqual(failed(notJson).map((f) => f.check), ['bundle']);
    const wrongType = await verifyOmsBundle(model, { ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' }, await readFile(keys.pub));
    assert.match(wrongType.checks[0]!.detail, /mediaType/);
  });
});

describe('OpenSSF model signing: folder rules (no CLI needed)', () => {
  test('ignore paths are folder-relative; a symlink in the model is refused', async () => {
    assert.equal(normalizeOmsIgnorePath('./weights/'), 'weights');
    for (const bad of ['.', '..', '../x', '/abs', '']) assert.throws(() => normalizeOmsIgnorePath(bad), ModelSourceError, bad);
    const dir = join(await temp.make('modelship-oms-rules-'), 'm');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', '.gitignore'), 'x\n'); // only top-level git paths are ignored
    await writeFile(join(dir, '.DS_Store'), 'x'); // model_signing hashes it; so do we here
    assert.deepEqual((await listOmsFiles(dir, OMS_GIT_PATHS)).map((f) => f.name), ['.DS_Store', 'sub/.gitignore']);
    await symlink('/etc/hostname', join(dir, 'link'));
    await assert.rejects(listOmsFiles(dir, OMS_GIT_PATHS), (err: unknown) => err instanceof ModelSourceError && /symbolic link/.test(err.message));
    await assert.rejects(listOmsFiles(join(dir, 'nope'), OMS_GIT_PATHS), ModelSourceError);
  });
});
