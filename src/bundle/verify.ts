import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_PROVENANCE, BUNDLE_SMOKE, bundlePaths } from './layout.js';
import { MANIFEST_JWS_TYP, manifestDigestRule, parseManifest, type Manifest } from './manifest.js';
import { IGNORE_NOTHING, listModelFiles } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { sha256Hex } from '../hashing/stream-hash.js';
import { hashFilesInParallel } from '../hashing/parallel-hash.js';
import { describeDigestRule, fileDigestOfBytes } from '../hashing/digest-rule.js';
import { verifyGeneralJwsWithKeys } from '../crypto/jws.js';
import { IN_TOTO_PAYLOAD_TYPE, verifyEnvelope } from '../crypto/dsse.js';
import { IN_TOTO_STATEMENT_V1 } from '../attest/statement.js';
import { SLSA_PROVENANCE_V1 } from '../attest/provenance.js';
import { TEST_RESULT_V01 } from '../attest/test-result.js';
import type { PublicKey } from '../crypto/keys.js';
import { errorMessage, type ModelshipError } from '../errors/index.js';
import { resolveExternalData, type ExternalDataFile } from '../onnx/external-data.js';
import { checkManifestSignature, type BundleTrust } from '../trust/bundle-signature.js';
import { trustKey, type Trust } from '../trust/trust-source.js';
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
  /**
   * Called once every file has been hashed, before the signatures are checked. For tests: a
   * file swapped here must not be what `openBundle` returns.
   */
  readonly afterFilesHashed?: () => void | Promise<void>;
  /**
   * Whether the model's external data is kept (default false): for callers that load the model.
   * Its files are then read into memory and hashed from there, like the model file.
   */
  readonly keepExternalData?: boolean;
}

/**
 * A verified model's external data, keyed by location as the model writes it (what onnxruntime's
 * `externalData` session option matches on), or why it cannot be used: a reference that is not a
 * file of the bundle (ExternalDataRefusedError), or a model that does not parse.
 */
export type VerifiedExternalData = { readonly files: readonly ExternalDataFile[] } | { readonly refused: ModelshipError | Error };

/** What a bundle that verified holds: read once, while it was checked, and not read again. */
export interface VerifiedBundleContents {
  readonly bundleDir: string;
  /** Parsed from `manifestBytes`. */
  readonly manifest: Manifest;
  /** model.yaml as read for the checks: the bytes the signatures cover. */
  readonly manifestBytes: Buffer;
  /** The model file (manifest.modelFile), read into memory and hashed from there: the bytes that matched the manifest. */
  readonly model: Buffer;
  /** Where the model file is, for its external data's folder; never read again from here. */
  readonly modelPath: string;
  /** The kids whose signatures counted. */
  readonly kids: readonly string[];
  /** With `keepExternalData`: the external data's bytes, as read and hashed (never read again). */
  readonly externalData?: VerifiedExternalData;
}

export interface OpenedBundle {
  readonly report: VerificationReport;
  /** Set iff `report.ok`. */
  readonly verified: VerifiedBundleContents | undefined;
}

/** A `Trust`, or the shorthands tests and older callers pass: one public key, or a keyring and policy. */
export type TrustArgument = Trust | PublicKey | BundleTrust;

function asTrust(trust: TrustArgument): Trust {
  if ('kind' in trust) return trust;
  if ('keyring' in trust) return { kind: 'policy', ...trust, source: trust.policy.source ?? 'trust policy' };
  return trustKey(trust);
}

/**
 * The kid a report names before anything is read: with keys, the first trusted one (with --key,
 * the key); under a trust policy none, since the counted kids come from model.jws.
 */
export function trustedKid(trust: TrustArgument): string {
  const resolved = asTrust(trust);
  return resolved.kind === 'policy' ? '' : ([...resolved.keys.values()][0]?.kid ?? '');
}

/** The report of `openBundle`, for a caller that wants only the answer (the CLI's `verify`, the store). */
export async function verifyBundle(bundleDir: string, trust: TrustArgument, options: VerifyBundleOptions = {}): Promise<VerificationReport> {
  return (await openBundle(bundleDir, trust, options)).report;
}

/**
 * The one verified-bundle path: opens a bundle folder, checks it and returns what was checked.
 * Re-hashes every file and checks the manifest, the JWS over it, the DSSE provenance and the
 * smoke test result under the trust: with keys, model.jws needs one signature by one of them; under
 * a keyring and trust policy, t signatures by kids trusted for the model; each attestation then
 * needs a signature by one of the kids counted. Every check runs and reports, so one answer names
 * every problem.
 *
 * model.yaml and model.jws are read once, and the model file is read into memory and hashed from
 * there: when every check passes, `verified` holds those very bytes, so a file swapped after it
 * was hashed is never what runs.
 */
export async function openBundle(bundleDir: string, trustArgument: TrustArgument, options: VerifyBundleOptions = {}): Promise<OpenedBundle> {
  const trust = asTrust(trustArgument);
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

  let model: Buffer | undefined;
  let externalData: VerifiedExternalData | undefined;
  if (manifest) {
    const files = await checkFiles(paths.modelDir, manifest, options.keepExternalData === true);
    model = files.model;
    externalData = files.externalData;
    const problems = files.problems;
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
  await options.afterFilesHashed?.();

  let jws: unknown;
  let jwsProblem: string | undefined;
  try {
    jws = JSON.parse(await readFile(paths.signature, 'utf8')) as unknown;
  } catch (err) {
    jwsProblem = errorMessage(err);
  }

  let keys: PublicKey[];
  let policy: PolicyVerification | undefined;
  if (trust.kind === 'policy') {
    // The rule is the one for the name in model.yaml, and the payload must be those bytes.
    let signature: { ok: boolean; detail: string; verification: PolicyVerification | undefined };
    if (!manifestBytes || !manifest) signature = { ok: false, detail: 'model.jws: not checked, model.yaml cannot be read: ' + checks[0]!.detail, verification: undefined };
    else if (jwsProblem !== undefined) signature = { ok: false, detail: `model.jws: ${jwsProblem}`, verification: undefined };
    else signature = checkManifestSignature(manifestBytes, manifest.name, jws, trust);
    record('signature', signature.ok, signature.detail);
    policy = signature.verification;
    keys = (policy?.countedKids ?? []).map((kid) => trust.keyring.get(kid)!.publicKey);
  } else {
    // Until model.jws verifies, the attestations are checked against every trusted key (with
    // --key, the one key), so every check still reports.
    keys = [...trust.keys.values()];
    try {
      if (jwsProblem !== undefined) throw new Error(jwsProblem);
      const verified = verifyGeneralJwsWithKeys(jws, trust.keys, MANIFEST_JWS_TYP, trust.dir);
      keys = [verified.key];
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

  const ok = checks.every((c) => c.ok);
  const report: VerificationReport = { bundleDir, ok, kid: keys[0]?.kid ?? '', ...(policy ? { policy } : {}), checks };
  const verified =
    ok && manifest && manifestBytes && model
      ? { bundleDir, manifest, manifestBytes, model, modelPath: join(paths.modelDir, manifest.modelFile), kids: keys.map((k) => k.kid), ...(externalData ? { externalData } : {}) }
      : undefined;
  return { report, verified };
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

/**
 * Every listed file's size and digest; the model file is read into memory and hashed from there
 * (returned when it matches), the others are hashed as they stream.
 */
async function checkFiles(
  modelDir: string,
  manifest: Manifest,
  keepExternalData: boolean,
): Promise<{ problems: string[]; model: Buffer | undefined; externalData?: VerifiedExternalData }> {
  const problems: string[] = [];
  let onDisk;
  try {
    onDisk = await listModelFiles(modelDir, IGNORE_NOTHING);
  } catch (err) {
    return { problems: [errorMessage(err)], model: undefined };
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const extra of onDisk.filter((f) => !listed.has(f.path))) problems.push(`model/${extra.path} is not in model.yaml`);
  const sizes = new Map(onDisk.map((f) => [f.path, f.size]));
  const candidates = [];
  let modelEntry: Manifest['files'][number] | undefined;
  for (const file of manifest.files) {
    const size = sizes.get(file.path);
    if (size === undefined) problems.push(`model/${file.path} is missing`);
    else if (size !== file.size) problems.push(`model/${file.path}: size ${size}, model.yaml says ${file.size}`);
    else if (file.path === manifest.modelFile) modelEntry = file;
    else candidates.push(file);
  }
  if (!manifest.files.some((f) => f.path === manifest.modelFile)) problems.push(`modelFile ${manifest.modelFile} is not among the manifest's files`);
  const rule = manifestDigestRule(manifest.digest);
  const mismatch = (path: string, actual: string, expected: string) => `model/${path}: sha256 ${actual}, model.yaml says ${expected} (${describeDigestRule(rule)})`;
  /** Reads a file into memory and hashes it from there: the bytes returned are the bytes checked. */
  const readChecked = async (entry: Manifest['files'][number]): Promise<Buffer | undefined> => {
    const bytes = await readFile(join(modelDir, entry.path));
    const actual = bytes.length === entry.size ? fileDigestOfBytes(bytes, rule) : `of ${bytes.length} bytes`;
    if (actual === entry.sha256) return bytes;
    problems.push(bytes.length === entry.size ? mismatch(entry.path, actual, entry.sha256) : `model/${entry.path}: size ${bytes.length}, model.yaml says ${entry.size}`);
    return undefined;
  };
  let model: Buffer | undefined;
  let externalData: VerifiedExternalData | undefined;
  try {
    // To keep the external data, the model is read first: it says which files that is.
    let external = new Map<string, string>();
    if (keepExternalData && modelEntry) {
      model = await readChecked(modelEntry);
      if (model) {
        try {
          external = new Map(resolveExternalData(model, { modelFile: manifest.modelFile, files: manifest.files }).map((r) => [r.location, r.file]));
        } catch (err) {
          externalData = { refused: err instanceof Error ? err : new Error(String(err)) };
        }
      }
    }
    const keptFiles = new Set(external.values());
    const toHash = candidates.filter((f) => !keptFiles.has(f.path));
    const [bytes, hashed, kept] = await Promise.all([
      modelEntry && !keepExternalData ? readChecked(modelEntry) : undefined,
      hashFilesInParallel(modelDir, toHash, { rule }),
      Promise.all(candidates.filter((f) => keptFiles.has(f.path)).map(async (f) => [f.path, await readChecked(f)] as const)),
    ]);
    if (!keepExternalData) model = bytes;
    for (const [i, file] of toHash.entries()) {
      const actual = hashed[i]!.sha256;
      if (actual !== file.sha256) problems.push(mismatch(file.path, actual, file.sha256));
    }
    if (model && !externalData) {
      const byFile = new Map(kept);
      const files: ExternalDataFile[] = [];
      for (const [path, file] of external) {
        const data = byFile.get(file);
        if (data) files.push({ path, data });
      }
      // A kept file that failed its check is already a problem: the bundle does not verify.
      if (keepExternalData) externalData = { files };
    }
  } catch (err) {
    problems.push(`model/: ${errorMessage(err)}`);
  }
  return { problems, model, ...(externalData ? { externalData } : {}) };
}
