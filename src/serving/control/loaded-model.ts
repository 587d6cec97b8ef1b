import ort from 'onnxruntime-node';
import type { Manifest } from '../../bundle/manifest.js';
import { openBundle, type CheckResult } from '../../bundle/verify.js';
import { BundleRefusedError, errorMessage, ModelshipError, TrustPolicyError } from '../../errors/index.js';
import { resolveTrust, type Trust } from '../../trust/trust-source.js';
import { warmUpFeeds } from './warm-up-feeds.js';
import type { ExternalDataFile } from '../../onnx/external-data.js';
import { forNativeFromMemory } from '../../onnx/inline-external-data.js';

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
  /** The kid(s) of the trusted keys whose signatures on the manifest counted, comma-separated. */
  readonly kid: string;
}

/** A bundle that verified under the runtime's trusted keys, with the manifest and model bytes the checks read. */
export interface VerifiedBundle {
  readonly ref: BundleRef;
  readonly manifest: Manifest;
  /** The model file's bytes, as read and hashed by the verification (never read again). */
  readonly modelBytes: Uint8Array;
  readonly modelPath: string;
  /**
   * The model's external data (empty for most models), every reference resolved to a file of the
   * bundle, as read and hashed by the verification (never read again), keyed by location.
   */
  readonly externalData: readonly ExternalDataFile[];
}

function refuse(bundleDir: string, failed: readonly CheckResult[]): never {
  const list = failed.map((c) => `${c.check}: ${c.detail}`).join('; ');
  throw new BundleRefusedError(`bundle ${bundleDir} refused: ${list}`, failed);
}

/**
 * Verifies a release bundle under the runtime's trusted keys folder (`openBundle`; every check
 * runs, so a refusal names every failing one) and returns the manifest and model bytes that
 * verification read: nothing is read from the folder again, so what runs is what was checked
 * even if the folder changes afterwards. The folder is read again for every deploy, so adding a
 * key (rotation) needs no restart; a broken trust setup refuses the bundle.
 */
export async function verifyForServing(bundleDir: string, trustedKeysDir: string): Promise<VerifiedBundle> {
  let trust: Trust;
  try {
    trust = await resolveTrust({ kind: 'serving-trusted-keys', dir: trustedKeysDir });
  } catch (err) {
    if (!(err instanceof TrustPolicyError)) throw err;
    return refuse(bundleDir, [{ check: 'signature', ok: false, detail: err.message }]);
  }
  const { report, verified } = await openBundle(bundleDir, trust, { keepExternalData: true });
  if (!verified) return refuse(bundleDir, report.checks.filter((c) => !c.ok));
  const { manifest, model: modelBytes, modelPath } = verified;
  // Every external-data reference must name a file the signed manifest lists, before onnxruntime
  // sees the model: it would otherwise read e.g. the server's own files into a tensor.
  const external = verified.externalData ?? { files: [] };
  if ('refused' in external) {
    const err = external.refused;
    return refuse(bundleDir, [{ check: 'files', ok: false, detail: err instanceof ModelshipError ? `${err.type}: ${err.message}` : errorMessage(err) }]);
  }
  const externalData = external.files;
  return {
    ref: { bundleDir, name: manifest.name, version: manifest.version, digest: `sha256:${manifest.digest.root}`, kid: verified.kids.join(',') },
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
    // The verified bytes, external data included: nothing is read from the folder after it was
    // checked, and from bytes alone onnxruntime would resolve external data against the server's
    // working directory.
    const native = forNativeFromMemory(verified.modelBytes, verified.externalData);
    const externalData = native.externalData.map(({ path, data }) => ({ path, data }));
    session = await ort.InferenceSession.create(native.model, { ...sessionOptions, ...(externalData.length ? { externalData } : {}) });
  } catch (err) {
    refuse(ref.bundleDir, [{ check: 'smoke', ok: false, detail: `onnxruntime cannot load ${manifest.modelFile}: ${firstLine(err)}` }]);
  }
  try {
    const missing = manifest.signature.inputs.map((i) => i.name).filter((n) => !session.inputNames.includes(n));
    if (missing.length) throw new Error(`the manifest's input(s) ${missing.join(', ')} are not inputs of the model (it has ${session.inputNames.join(', ')})`);
    await session.run(warmUpFeeds(manifest.signature.inputs));
  } catch (err) {
    await session.release().catch(() => undefined);
    refuse(ref.bundleDir, [{ check: 'smoke', ok: false, detail: `warm-up inference on zeros failed: ${firstLine(err)}` }]);
  }
  return new LoadedModel(verified, session);
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0] ?? '';
}
