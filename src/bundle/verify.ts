import { readFile } from 'node:fs/promises';
import { BUNDLE_PROVENANCE, BUNDLE_SMOKE, bundlePaths } from './layout.js';
import { MANIFEST_JWS_TYP, manifestDigestRule, parseManifest, type Manifest } from './manifest.js';
import { IGNORE_NOTHING, listModelFiles } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { hashFilesInParallel } from '../hashing/parallel-hash.js';
import { describeDigestRule } from '../hashing/digest-rule.js';
import { verifyGeneralJws } from '../crypto/jws.js';
import { IN_TOTO_PAYLOAD_TYPE, verifyEnvelope } from '../crypto/dsse.js';
import { IN_TOTO_STATEMENT_V1 } from '../attest/statement.js';
import { SLSA_PROVENANCE_V1 } from '../attest/provenance.js';
import { TEST_RESULT_V01 } from '../attest/test-result.js';
import type { PublicKey } from '../crypto/keys.js';
import { errorMessage } from '../errors/index.js';
import { checkBundleSignature, type BundleTrust } from '../trust/bundle-signature.js';
import type { PolicyVerification } from '../trust/verify-with-policy.js';

export type CheckName = 'artifact' | 'manifest' | 'files' | 'root-digest' | 'signature' | 'provenance' | 'smoke';

export interface CheckResult {
  readonly check: CheckName;
  readonly ok: boolean;
  /** What was checked, or exactly what failed and where. */
  readonly detail: string;
}

export interface VerificationReport {
  readonly bundleDir: string;
  readonly ok: boolean;
  /** The key checked against; under a trust policy, the first counted kid ('' when none). */
  readonly kid: string;
  /** Under a trust policy: every signature's status, the rule and the threshold. */
  readonly policy?: PolicyVerification;
  readonly checks: readonly CheckResult[];
}

export interface VerifyBundleOptions {
  /**
   * Whether the smoke test result is checked (default true). The smoke stage verifies the bundle
   * before it writes that attestation, so it checks everything else and leaves this out.
   */
  readonly smokeAttestation?: boolean;
}

/**
 * Re-hashes every file and checks the manifest, the JWS over it, the DSSE provenance and the
 * smoke test result against one trusted key, or under a keyring and trust policy: then model.jws
 * needs t signatures by kids trusted for the model, and each attestation a signature by one of
 * the kids counted. Every check runs and reports, so one answer names every problem.
 */
export async function verifyBundle(bundleDir: string, trust: PublicKey | BundleTrust, options: VerifyBundleOptions = {}): Promise<VerificationReport> {
  const paths = bundlePaths(bundleDir);
  const checks: CheckResult[] = [];
  const record = (check: CheckName, ok: boolean, detail: string) => checks.push({ check, ok, detail });

  let manifestBytes: Buffer | undefined;
  let manifest: Manifest | undefined;
  try {
    manifestBytes = await readFile(paths.manifest);
    manifest = parseManifest(manifestBytes.toString('utf8'));
    record('manifest', true, `model.yaml lists ${manifest.files.length} file(s) of ${manifest.name}@${manifest.version}`);
  } catch (err) {
    record('manifest', false, errorMessage(err));
  }

  if (manifest) {
    const problems = await checkFiles(paths.modelDir, manifest);
    record('files', problems.length === 0, problems.length ? problems.join('; ') : `${manifest.files.length} file(s) match their size and digest (${describeDigestRule(manifestDigestRule(manifest.digest))})`);
    try {
      const recomputed = rootDigest(manifest.files);
      record(
        'root-digest',
        recomputed === manifest.digest.root,
        recomputed === manifest.digest.root
          ? `sha256:${recomputed} (${manifest.digest.rule})`
          : `model.yaml says root sha256:${manifest.digest.root} but its files give sha256:${recomputed}`,
      );
    } catch (err) {
      record('root-digest', false, errorMessage(err));
    }
  } else {
    record('files', false, 'not checked: the manifest could not be read');
    record('root-digest', false, 'not checked: the manifest could not be read');
  }

  let keys: PublicKey[];
  let policy: PolicyVerification | undefined;
  if ('keyring' in trust) {
    const signature = await checkBundleSignature(bundleDir, trust);
    record('signature', signature.ok, signature.detail);
    policy = signature.verification;
    keys = (policy?.countedKids ?? []).map((kid) => trust.keyring.get(kid)!.publicKey);
  } else {
    keys = [trust];
    try {
      const jws = JSON.parse(await readFile(paths.signature, 'utf8')) as unknown;
      const verified = verifyGeneralJws(jws, trust, MANIFEST_JWS_TYP);
      if (!manifestBytes) throw new Error('the signature verifies, but model.yaml could not be read to compare');
      if (!verified.payload.equals(manifestBytes)) throw new Error('the signature verifies, but its payload is not the model.yaml in the bundle');
      record('signature', true, `model.jws: EdDSA by kid ${verified.header.kid} over model.yaml`);
    } catch (err) {
      record('signature', false, `model.jws: ${errorMessage(err)}`);
    }
  }

  try {
    const statement = await readStatement(paths.provenance, keys, SLSA_PROVENANCE_V1);
    const subject = statement.subject?.[0]?.digest?.sha256;
    if (!manifestBytes) throw new Error('the envelope verifies, but there is no model.yaml to match it to');
    const predicate = statement.predicate as { runDetails?: { byproducts?: Array<{ name?: string; digest?: { sha256?: string } }> } } | undefined;
    const byproduct = predicate?.runDetails?.byproducts?.find((b) => b.name === 'model.yaml')?.digest?.sha256;
    if (byproduct !== sha256Hex(manifestBytes)) throw new Error('the provenance records a different model.yaml');
    if (manifest && subject !== manifest.digest.root) throw new Error(`subject sha256:${subject} is not the manifest's root sha256:${manifest.digest.root}`);
    record('provenance', true, `DSSE in-toto statement, SLSA provenance v1, subject sha256:${subject}`);
  } catch (err) {
    record('provenance', false, `${BUNDLE_PROVENANCE}: ${errorMessage(err)}`);
  }

  if (options.smokeAttestation !== false) await checkSmokeAttestation(paths.smoke, keys, manifest, record);

  return { bundleDir, ok: checks.every((c) => c.ok), kid: keys[0]?.kid ?? '', ...(policy ? { policy } : {}), checks };
}

async function checkSmokeAttestation(
  path: string,
  keys: readonly PublicKey[],
  manifest: Manifest | undefined,
  record: (check: CheckName, ok: boolean, detail: string) => void,
): Promise<void> {
  try {
    const statement = await readStatement(path, keys, TEST_RESULT_V01);
    const subject = statement.subject?.[0]?.digest?.sha256;
    if (!manifest) throw new Error('the envelope verifies, but there is no manifest to match it to');
    if (subject !== manifest.digest.root) throw new Error(`subject sha256:${subject} is not the manifest's root sha256:${manifest.digest.root}`);
    const predicate = statement.predicate as { result?: string; failedTests?: string[]; warnedTests?: string[] } | undefined;
    if (predicate?.result === 'PASSED') record('smoke', true, 'in-toto test result PASSED: sandboxed inference agrees with onnxruntime-node');
    else if (predicate?.result === 'WARNED') record('smoke', true, `in-toto test result WARNED: ${(predicate.warnedTests ?? []).join('; ')}`);
    else throw new Error(`the smoke test result is ${predicate?.result ?? 'missing'}: ${(predicate?.failedTests ?? []).join('; ')}`);
  } catch (err) {
    record('smoke', false, `${BUNDLE_SMOKE}: ${errorMessage(err)}`);
  }
}

interface StatementShape {
  _type?: string;
  predicateType?: string;
  subject?: Array<{ name?: string; digest?: { sha256?: string } }>;
  predicate?: unknown;
}

/** Reads a DSSE envelope, verifies it with one of the keys, and checks it holds an in-toto v1 statement of the given predicate type. */
async function readStatement(path: string, keys: readonly PublicKey[], predicateType: string): Promise<StatementShape> {
  const envelope = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (keys.length === 0) throw new Error('not checked: no trusted kid signed model.jws');
  const reasons: string[] = [];
  let payload: Buffer | undefined;
  for (const key of keys) {
    try {
      payload = verifyEnvelope(envelope, key, IN_TOTO_PAYLOAD_TYPE);
      break;
    } catch (err) {
      reasons.push(errorMessage(err));
    }
  }
  if (!payload) throw new Error(reasons.join('; '));
  const statement = JSON.parse(payload.toString('utf8')) as StatementShape;
  if (statement._type !== IN_TOTO_STATEMENT_V1) throw new Error(`statement _type is ${JSON.stringify(statement._type)}`);
  if (statement.predicateType !== predicateType) throw new Error(`predicateType is ${JSON.stringify(statement.predicateType)}, expected ${predicateType}`);
  return statement;
}

async function checkFiles(modelDir: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  let onDisk;
  try {
    onDisk = await listModelFiles(modelDir, IGNORE_NOTHING);
  } catch (err) {
    return [errorMessage(err)];
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const extra of onDisk.filter((f) => !listed.has(f.path))) problems.push(`model/${extra.path} is not in model.yaml`);
  const sizes = new Map(onDisk.map((f) => [f.path, f.size]));
  const toHash = [];
  for (const file of manifest.files) {
    const size = sizes.get(file.path);
    if (size === undefined) problems.push(`model/${file.path} is missing`);
    else if (size !== file.size) problems.push(`model/${file.path}: size ${size}, model.yaml says ${file.size}`);
    else toHash.push(file);
  }
  const rule = manifestDigestRule(manifest.digest);
  try {
    const hashed = await hashFilesInParallel(modelDir, toHash, { rule });
    for (const [i, file] of toHash.entries()) {
      const actual = hashed[i]!.sha256;
      if (actual !== file.sha256) problems.push(`model/${file.path}: sha256 ${actual}, model.yaml says ${file.sha256} (${describeDigestRule(rule)})`);
    }
  } catch (err) {
    problems.push(`model/: ${errorMessage(err)}`);
  }
  return problems;
}
