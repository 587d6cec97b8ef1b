// Builds a complete, signed release bundle from the pure pieces (no Temporal, no activities):
// the same steps export → hash → sign → attest take, in the same file formats.
import { CURRENT_DIGEST_RULE, type DigestRule } from '../../src/hashing/digest-rule.js';
import { hashFilesInParallel } from '../../src/hashing/parallel-hash.js';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundlePaths } from '../../src/bundle/layout.js';
import {
  completeManifest,
  MANIFEST_API_VERSION,
  MANIFEST_JWS_TYP,
  serializeManifest,
  type Manifest,
  type ManifestDraft,
} from '../../src/bundle/manifest.js';
import { listModelFiles } from '../../src/hashing/list-files.js';
import { rootDigest } from '../../src/hashing/root-digest.js';
import { sha256File, sha256Hex } from '../../src/hashing/stream-hash.js';
import { inspectOnnxModel } from '../../src/native/inspect-model.js';
import { signGeneralJws, type GeneralJws } from '../../src/crypto/jws.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, type DsseEnvelope } from '../../src/crypto/dsse.js';
import { buildProvenanceStatement, type SlsaProvenance } from '../../src/attest/provenance.js';
import type { Statement } from '../../src/attest/statement.js';
import { buildTestResultStatement, type TestResultValue } from '../../src/attest/test-result.js';
import type { SigningKey } from '../../src/crypto/keys.js';
import type { FileDigest, ModelInfo, ReleaseRequest } from '../../src/release/types.js';
import { SAMPLE_MODEL } from './fixtures.js';

export interface SignedBundleOptions {
  /** The ONNX file to ship (default: models/sample/sample-mlp.onnx). */
  readonly modelPath?: string;
  /** Extra side files to put next to the model: relative path → contents. */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
  readonly name?: string;
  readonly version?: string;
  readonly releaseId?: string;
  readonly createdAt?: string;
  /** What the smoke test result attestation says (default PASSED). */
  readonly smokeResult?: TestResultValue;
  /** The digest rule model.yaml records (default: the current one). */
  readonly digestRule?: DigestRule;
  /**
   * What model.yaml says of the model, instead of loading it in onnxruntime: for a hostile bundle
   * that export would refuse, signed by hand to test what a runtime does with it.
   */
  readonly modelInfo?: ModelInfo;
}

export interface SignedBundle {
  readonly bundleDir: string;
  readonly paths: ReturnType<typeof bundlePaths>;
  readonly modelFile: string;
  readonly manifest: Manifest;
  readonly manifestText: string;
  readonly jws: GeneralJws;
  readonly statement: Statement<SlsaProvenance>;
  readonly envelope: DsseEnvelope;
  readonly smokeEnvelope: DsseEnvelope;
}

/** Writes `<dir>/model/…`, `model.yaml`, `model.jws`, `attestations/provenance.dsse.json` and `attestations/smoke.dsse.json`. */
export async function makeSignedBundle(dir: string, key: SigningKey, options: SignedBundleOptions = {}): Promise<SignedBundle> {
  const modelPath = options.modelPath ?? SAMPLE_MODEL;
  const name = options.name ?? 'sample-mlp';
  const version = options.version ?? '1.0.0';
  const releaseId = options.releaseId ?? `release-${name}-${version}`;
  const createdAt = options.createdAt ?? '2025-01-02T03:04:05.000Z';
  const paths = bundlePaths(dir);

  // export: copy the model in and describe it
  await mkdir(paths.modelDir, { recursive: true });
  const modelFile = basename(modelPath);
  await copyFile(modelPath, join(paths.modelDir, modelFile));
  for (const [rel, contents] of Object.entries(options.extraFiles ?? {})) {
    await mkdir(join(paths.modelDir, rel, '..'), { recursive: true });
    await writeFile(join(paths.modelDir, rel), contents);
  }
  const listed = await listModelFiles(paths.modelDir);
  const info = options.modelInfo ?? (await inspectOnnxModel(join(paths.modelDir, modelFile), {}, undefined, { dir: paths.modelDir, modelFile, files: listed }));
  const source = { uri: pathToFileURL(modelPath).href, sha256: (await sha256File(modelPath)).sha256 };
  const draft: ManifestDraft = {
    apiVersion: MANIFEST_API_VERSION,
    kind: 'ModelManifest',
    name,
    version,
    releaseId,
    createdAt,
    framework: { format: info.format, irVersion: info.irVersion, opsets: info.opsets, producer: info.producer },
    modelFile,
    signature: { inputs: info.inputs, outputs: info.outputs },
    source,
    files: listed,
  };

  // hash: every file's SHA-256 and the root digest
  const rule = options.digestRule ?? CURRENT_DIGEST_RULE;
  const files: FileDigest[] = await hashFilesInParallel(paths.modelDir, listed, { rule });
  const manifest = completeManifest(draft, files, rootDigest(files), rule);
  const manifestText = serializeManifest(manifest);
  await writeFile(paths.manifest, manifestText);

  // sign: JWS over the exact bytes of model.yaml
  const manifestBytes = Buffer.from(manifestText, 'utf8');
  const jws = signGeneralJws(manifestBytes, key, MANIFEST_JWS_TYP);
  await writeFile(paths.signature, JSON.stringify(jws, null, 2) + '\n');

  // attest: in-toto statement with SLSA provenance in a DSSE envelope
  const request: ReleaseRequest = {
    name,
    version,
    source: { kind: 'onnx', path: modelPath },
    signingKeyPath: '/keys/release.key.pem',
    requestedBy: 'tests',
  };
  const statement = buildProvenanceStatement({
    name,
    version,
    rootDigest: manifest.digest.root,
    digestRule: manifest.digest,
    manifestSha256: sha256Hex(manifestBytes),
    request,
    source,
    namespace: 'default',
    workflowId: `release-${name}-${version}`,
    runId: '00000000-0000-4000-8000-000000000000',
    taskQueue: 'modelship-release',
    startedOn: createdAt,
    finishedOn: '2025-01-02T03:05:06.000Z',
    builderVersion: '0.1.0',
  });
  const envelope = signEnvelope(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE, key);
  await mkdir(join(paths.provenance, '..'), { recursive: true });
  await writeFile(paths.provenance, JSON.stringify(envelope, null, 2) + '\n');

  // smoke: an in-toto test result over the same subject, as the smoke activity writes it
  const smokeResult = options.smokeResult ?? 'PASSED';
  const smokeStatement = buildTestResultStatement(
    { name: `${name}@${version}`, digest: { sha256: manifest.digest.root } },
    {
      result: smokeResult,
      configuration: [{ name: 'onnxruntime-web@1.30.0/ort-wasm-simd-threaded.wasm', digest: { sha256: '0'.repeat(64) } }],
      passedTests: smokeResult === 'FAILED' ? [] : ['outputs-agree'],
      warnedTests: smokeResult === 'WARNED' ? ['sandbox-inference: unsupported operator X'] : [],
      failedTests: smokeResult === 'FAILED' ? ['outputs-agree: probabilities: max absolute difference 5.000e-1 > 0.0001'] : [],
    },
  );
  const smokeEnvelope = signEnvelope(Buffer.from(JSON.stringify(smokeStatement), 'utf8'), IN_TOTO_PAYLOAD_TYPE, key);
  await writeFile(paths.smoke, JSON.stringify(smokeEnvelope, null, 2) + '\n');

  return { bundleDir: dir, paths, modelFile, manifest, manifestText, jws, statement, envelope, smokeEnvelope };
}
