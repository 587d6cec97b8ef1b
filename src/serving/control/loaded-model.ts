import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { bundlePaths } from '../../bundle/layout.js';
import { MANIFEST_JWS_TYP, parseManifest, type Manifest } from '../../bundle/manifest.js';
import { readVerifiedModelFile } from '../../bundle/model-file.js';
import { verifyBundle, type CheckResult } from '../../bundle/verify.js';
import { verifyGeneralJws } from '../../crypto/jws.js';
import type { PublicKey } from '../../crypto/keys.js';
import { BundleRefusedError, ModelshipError, errorMessage } from '../../errors/index.js';
import { loadTrustedKeys, readDsseKeyIds, readJwsKids } from './trusted-keys.js';
import { loadTrustDir } from '../../trust/trust-dir.js';
import { verifyJwsWithPolicy } from '../../trust/verify-with-policy.js';
import { zeroFeeds } from '../protocol/json-tensors.js';
import { resolveExternalData, type ResolvedExternalData } from '../../onnx/external-data.js';
import { externalDataOptions } from '../../native/ort-session.js';

/** What identifies the bundle in a slot: persisted in the state file, shown in status. */
export interface BundleRef {
  /** The folder the runtime loaded: the bundle on its host, or its own pull of `reference`. */
  readonly bundleDir: string;
  /** The pinned store reference deployed (`host/repo:tag@sha256:…`); absent for a folder deploy. */
  readonly reference?: string;
  readonly name: string;
  readonly version: string;
  /** `sha256:<root>` from the manifest. */
  readonly digest: string;
  /** The kid of the trusted key the manifest's JWS verified with. */
  readonly kid: string;
}

/** A bundle that verified against a trusted key, with its manifest read back and re-checked. */
export interface VerifiedBundle {
  readonly ref: BundleRef;
  readonly manifest: Manifest;
  /** The model file's bytes, re-hashed against the manifest after verification. */
  readonly modelBytes: Uint8Array;
  readonly modelPath: string;
  /** The model's external data, every reference resolved to a file of the bundle (empty for most models). */
  readonly externalData: readonly ResolvedExternalData[];
}

function refuse(bundleDir: string, failed: readonly CheckResult[], prefix?: string): never {
  const list = failed.map((c) => `${c.check}: ${c.detail}`).join('; ');
  throw new BundleRefusedError(`bundle ${bundleDir} refused: ${prefix ? `${prefix}; ` : ''}${list}`, failed);
}

/**
 * Verifies a release bundle with `verifyBundle` against the trusted key its JWS names (the kid
 * in model.jws picks the key; every check runs, so a refusal names every failing one). When
 * model.jws is missing or unreadable there is no kid: the checks still run, against the key
 * the provenance envelope names or else the first trusted key, and the signature check fails.
 *
 * After it verifies, model.yaml is read again and its JWS checked over those exact bytes, and
 * the model file is read into memory and re-hashed against the manifest, so the manifest and
 * model the runtime uses are the signed ones even if the directory changes after the check.
 */
export async function verifyForServing(bundleDir: string, trustedKeysDir: string): Promise<VerifiedBundle> {
  // A keyring and trust policy in the trusted keys folder switch on t-of-n per model name;
  // without them (or if the folder cannot be listed) loadTrustedKeys below takes over and reports.
  const policyTrust = await loadTrustDir(trustedKeysDir);
  if (policyTrust && 'problem' in policyTrust) refuse(bundleDir, [{ check: 'signature', ok: false, detail: policyTrust.problem }]);
  if (policyTrust) {
    const at = new Date();
    const report = await verifyBundle(bundleDir, { ...policyTrust, at });
    if (!report.ok) refuse(bundleDir, report.checks.filter((c) => !c.ok));
    const kids = report.policy!.countedKids;
    return readBackVerified(bundleDir, kids.join(','), (jws, manifestBytes, manifest) => {
      const again = verifyJwsWithPolicy(jws, { ...policyTrust, modelName: manifest.name, at, expectedTyp: MANIFEST_JWS_TYP });
      return again.ok && again.payload!.equals(manifestBytes);
    });
  }
  const trusted = await loadTrustedKeys(trustedKeysDir);
  if (trusted.byKid.size === 0) {
    refuse(bundleDir, [{ check: 'signature', ok: false, detail: `no trusted keys in ${trustedKeysDir}${trusted.problems.length ? ` (${trusted.problems.join('; ')})` : ''}` }]);
  }
  const paths = bundlePaths(bundleDir);
  const jwsKids = await readJwsKids(paths.signature);
  let key: PublicKey | undefined;
  let note: string | undefined;
  if ('kids' in jwsKids) {
    key = jwsKids.kids.map((k) => trusted.byKid.get(k)).find((k) => k !== undefined);
    if (!key) note = `model.jws is signed by kid ${jwsKids.kids.join(', ')}, which is not a trusted key in ${trustedKeysDir}`;
  }
  key ??= (await readDsseKeyIds(paths.provenance)).map((k) => trusted.byKid.get(k)).find((k) => k !== undefined);
  key ??= [...trusted.byKid.values()][0]!;

  const report = await verifyBundle(bundleDir, key);
  const failed = report.checks.filter((c) => !c.ok);
  if (!report.ok || note) refuse(bundleDir, failed.length ? failed : [{ check: 'signature', ok: false, detail: note! }], note);
  return readBackVerified(bundleDir, key.kid, (jws, manifestBytes) => verifyGeneralJws(jws, key, MANIFEST_JWS_TYP).payload.equals(manifestBytes));
}

/**
 * Re-reads what the runtime is about to use and ties it to the signature again (no time-of-check
 * gap): `stillSigned` checks the JWS read now over the model.yaml bytes read now.
 */
async function readBackVerified(
  bundleDir: string,
  kid: string,
  stillSigned: (jws: unknown, manifestBytes: Buffer, manifest: Manifest) => boolean,
): Promise<VerifiedBundle> {
  const paths = bundlePaths(bundleDir);
  const changed = (what: string): never => refuse(bundleDir, [{ check: 'files', ok: false, detail: `${what} changed while the bundle was being loaded` }]);
  let manifest: Manifest;
  try {
    const manifestBytes = await readFile(paths.manifest);
    manifest = parseManifest(manifestBytes.toString('utf8'));
    if (!stillSigned(JSON.parse(await readFile(paths.signature, 'utf8')), manifestBytes, manifest)) changed('model.yaml');
  } catch (err) {
    if (err instanceof BundleRefusedError) throw err;
    return changed(`model.yaml or model.jws (${errorMessage(err)})`);
  }
  const entry = manifest.files.find((f) => f.path === manifest.modelFile);
  if (!entry) refuse(bundleDir, [{ check: 'manifest', ok: false, detail: `modelFile ${manifest.modelFile} is not among the manifest's files` }]);
  const modelPath = join(paths.modelDir, manifest.modelFile);
  const modelBytes = (await readVerifiedModelFile(bundleDir, manifest)) ?? changed(`model/${manifest.modelFile}`);
  // Every external-data reference must name a file the signed manifest lists, before onnxruntime
  // sees the model: it would otherwise read e.g. the server's own files into a tensor.
  let externalData: ResolvedExternalData[];
  try {
    externalData = resolveExternalData(modelBytes, manifest);
  } catch (err) {
    refuse(bundleDir, [{ check: 'files', ok: false, detail: err instanceof ModelshipError ? `${err.type}: ${err.message}` : errorMessage(err) }]);
  }
  return {
    ref: { bundleDir, name: manifest.name, version: manifest.version, digest: `sha256:${manifest.digest.root}`, kid },
    manifest,
    modelBytes,
    modelPath,
    externalData,
  };
}

export interface SessionOptions {
  readonly intraOpNumThreads?: number | undefined;
}

/**
 * A verified model with its onnxruntime session, reference-counted: each request holds a lease
 * while it runs, and a model taken out of its slot (`retire`) releases its session only once
 * the last lease is returned.
 */
export class LoadedModel {
  readonly ref: BundleRef;
  readonly manifest: Manifest;
  readonly session: ort.InferenceSession;
  readonly loadedAt: string;
  private leases = 0;
  private retired = false;
  private released: Promise<void> | undefined;
  private drained!: () => void;
  /** Settles when the session has been released (after `retire` and the last lease). */
  readonly whenReleased: Promise<void>;

  constructor(verified: VerifiedBundle, session: ort.InferenceSession) {
    this.ref = verified.ref;
    this.manifest = verified.manifest;
    this.session = session;
    this.loadedAt = new Date().toISOString();
    this.whenReleased = new Promise<void>((resolve) => (this.drained = resolve));
  }

  /** Requests running on this model right now. */
  get inFlight(): number {
    return this.leases;
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Takes a lease; must be paired with exactly one `release`. Synchronous, so it cannot interleave with a swap. */
  acquire(): () => void {
    if (this.released) throw new Error(`${this.ref.name}@${this.ref.version}: session already released`);
    this.leases++;
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.leases--;
      if (this.retired && this.leases === 0) void this.releaseSession();
    };
  }

  /** No new leases will be taken (the slot no longer points here); release once drained. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.leases === 0) void this.releaseSession();
    return this.whenReleased;
  }

  private releaseSession(): Promise<void> {
    this.released ??= this.session
      .release()
      .catch(() => undefined)
      .finally(() => this.drained());
    return this.released;
  }
}

/**
 * Opens the verified model in onnxruntime and warms it with one inference on zeros shaped from
 * the manifest's signature. Only a model that ran once is handed back; otherwise the bundle is
 * refused with the reason and nothing is left open.
 */
export async function openModel(verified: VerifiedBundle, options: SessionOptions = {}): Promise<LoadedModel> {
  const { ref, manifest } = verified;
  // Severity 4: onnxruntime would print run failures to stderr itself; they are logged (pino) and answered instead.
  const sessionOptions: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, graphOptimizationLevel: 'all' };
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  let session: ort.InferenceSession;
  try {
    // The verified bytes, with external data read from the bundle's model folder: from bytes,
    // onnxruntime would otherwise resolve it against the server's working directory.
    session = await ort.InferenceSession.create(verified.modelBytes, { ...sessionOptions, ...externalDataOptions(dirname(verified.modelPath)) });
  } catch (err) {
    refuse(ref.bundleDir, [{ check: 'smoke', ok: false, detail: `onnxruntime cannot load ${manifest.modelFile}: ${firstLine(err)}` }]);
  }
  try {
    const missing = manifest.signature.inputs.map((i) => i.name).filter((n) => !session.inputNames.includes(n));
    if (missing.length) throw new Error(`the manifest's input(s) ${missing.join(', ')} are not inputs of the model (it has ${session.inputNames.join(', ')})`);
    await session.run(zeroFeeds(manifest.signature.inputs));
  } catch (err) {
    await session.release().catch(() => undefined);
    refuse(ref.bundleDir, [{ check: 'smoke', ok: false, detail: `warm-up inference on zeros failed: ${firstLine(err)}` }]);
  }
  return new LoadedModel(verified, session);
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0] ?? '';
}
