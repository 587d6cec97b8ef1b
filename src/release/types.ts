import type { CanaryPlan } from '../canary/plan.js';
import type { FileIdentity } from '../hashing/digest-cache.js';
import type { StoredBundle } from '../store/bundle-store.js';
import type { SmokeInputSpec, ToleranceOption } from '../smoke/input-spec.js';
import type { SmokeVerification } from './smoke-verification.js';
export type { SmokeVerification } from './smoke-verification.js';

/**
 * The data that crosses Temporal: small, JSON, and never secret. Paths are as the worker
 * sees them; keys are referred to by path and kid, never by their bytes.
 */

/** Where the model comes from. */
export type ModelSource =
  /** An ONNX file, or a directory holding exactly one .onnx model and its side files. */
  | { readonly kind: 'onnx'; readonly path: string; readonly allowSymlinks?: boolean }
  /** A training artifact turned into ONNX by an exporter the worker knows by name. */
  | {
      readonly kind: 'exporter';
      readonly exporter: string;
      readonly input: string;
      readonly timeoutSeconds?: number;
    };

/**
 * How the smoke stage tests the model; every field has a default. Generated inputs follow
 * `shapes` (by input), `dims` (by symbolic dimension name), `intRange` / `intRanges`
 * (SmokeInputSpec, src/smoke/input-spec.ts).
 */
/** A stage's result as the activity returns it: with the bundle in the store after the stage. */
export type InStore<T extends { readonly bundle?: StoredBundle }> = T & { readonly bundle: StoredBundle };

export interface SmokeOptions extends SmokeInputSpec {
  /** Seed for generated inputs (default 1). */
  readonly seed?: number;
  /**
   * Inputs on the worker instead of generated ones, by path (the bytes never enter history):
   * .json, .npy, .npz, TensorProto .pb, or a folder of .npy/.pb (src/smoke/inputs-file.ts).
   */
  readonly inputsPath?: string;
  /**
   * Reference data on the worker, by path: inputs with the outputs the user's training framework
   * produced for them, as an ONNX test_data_set folder (input_N.pb, output_N.pb) or an .npz
   * (inputs/<name>, outputs/<name>, or input_N, output_N) (src/smoke/smoke-data.ts). Smoke
   * compares the sandbox's outputs with these and with native. Not with `inputsPath`.
   */
  readonly dataPath?: string;
  /** numpy.allclose's atol and rtol for every output (default 1e-4 and 1e-3). */
  readonly tolerance?: ToleranceOption;
  /** Per output, over `tolerance`. */
  readonly outputTolerances?: Readonly<Record<string, ToleranceOption>>;
  /** Sandbox wall-clock deadline per call (default 30 s). */
  readonly timeoutMs?: number;
  /** Sandbox linear memory ceiling (default 256 MiB). */
  readonly maxMemoryMiB?: number;
  /** When the sandbox engine does not support the model: fail the release (default) or warn and go on. */
  readonly onUnsupported?: 'fail' | 'warn';
  /** The release's own Extism plugins (paths on the worker), run under the same limits. */
  readonly plugins?: ReadonlyArray<{ readonly path: string; readonly function?: string }>;
}

export interface ReleaseRequest {
  readonly name: string;
  readonly version: string;
  readonly source: ModelSource;
  /** Path (on the worker) of the encrypted PKCS#8 Ed25519 key; its passphrase comes from the worker's environment. */
  readonly signingKeyPath: string;
  /** Who asked, for the provenance record. */
  readonly requestedBy?: string;
  readonly smoke?: SmokeOptions;
  /** The canary plan (default plan when the worker has a serving runtime); false: no deployment. */
  readonly canary?: CanaryPlan | false;
  /** The batch this release belongs to (set by a batch workflow); becomes the BatchId search attribute. */
  readonly batchId?: string;
}

export type TensorDim = number | string;

export interface TensorSignature {
  readonly name: string;
  /** ONNX element type in onnxruntime's spelling: float32, int64, ... */
  readonly type: string;
  /** Dimensions; strings are symbolic (e.g. "batch"). Empty when the rank is unknown. */
  readonly shape: readonly TensorDim[];
}

export interface OpsetImport {
  /** "ai.onnx" for the default domain. */
  readonly domain: string;
  readonly version: number;
}

export interface ModelInfo {
  readonly format: 'onnx';
  readonly irVersion: number;
  readonly opsets: readonly OpsetImport[];
  readonly producer: { readonly name: string; readonly version: string };
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export interface BundleFile {
  /** Relative to the bundle's model/ folder, '/'-separated. */
  readonly path: string;
  readonly size: number;
}

/**
 * A file as export wrote it into the bundle: with the source's digest and the copy's identity on
 * disk, which the hash stage may reuse (only on workers with a digest cache) while the copy is
 * untouched. Absent in histories recorded before digest caching.
 */
export interface ExportedFile extends BundleFile {
  readonly sha256?: string;
  readonly identity?: FileIdentity;
}

export interface FileDigest extends BundleFile {
  readonly sha256: string;
}

export interface SourceRef {
  readonly uri: string;
  readonly sha256: string;
}

export interface ExportResult {
  /** The bundle in the store after this stage: the reference and digests the next stage fetches by (set by the activity; absent when the stage ran on a folder directly). */
  readonly bundle?: StoredBundle;

  readonly bundleDir: string;
  /** The ONNX file among `files`. */
  readonly modelFile: string;
  readonly files: readonly ExportedFile[];
  readonly model: ModelInfo;
  readonly source: SourceRef;
  /** How the source was digested: bytes read now, bytes the digest cache vouched for (absent for exporter sources and old histories). */
  readonly sourceHashing?: { readonly bytesHashed: number; readonly bytesFromCache: number };
}

export interface HashResult {
  /** The bundle in the store after this stage: the reference and digests the next stage fetches by (set by the activity; absent when the stage ran on a folder directly). */
  readonly bundle?: StoredBundle;
  /** What this stage's pull moved: 0 bytes fetched when this host's blob cache held the model (releases through the store). */
  readonly pulled?: { readonly bytesFetched: number; readonly bytesFromCache: number };

  readonly rootDigest: string;
  readonly files: readonly FileDigest[];
  readonly totalBytes: number;
  readonly manifestPath: string;
  readonly manifestSha256: string;
  /** The digest rule used, e.g. "modelship-root-v2 (64 MiB shards)" (absent in results recorded before v2). */
  readonly rule?: string;
  /** Bytes this attempt read; the rest came from an earlier attempt's checkpoint or the digest cache. */
  readonly bytesHashed?: number;
  readonly bytesResumed?: number;
  /** Bytes whose digests export computed (or took from the digest cache) for untouched copies. */
  readonly bytesFromCache?: number;
}

export interface SignResult {
  /** The bundle in the store after this stage: the reference and digests the next stage fetches by (set by the activity; absent when the stage ran on a folder directly). */
  readonly bundle?: StoredBundle;

  readonly jwsPath: string;
  /** Every signing kid, comma-separated (one kid outside a rotation). */
  readonly kid: string;
  /** Every signing kid (absent in results recorded before keyrings). */
  readonly kids?: readonly string[];
  readonly alg: 'EdDSA';
  readonly typ: string;
  readonly manifestSha256: string;
}

export interface AttestResult {
  /** The bundle in the store after this stage: the reference and digests the next stage fetches by (set by the activity; absent when the stage ran on a folder directly). */
  readonly bundle?: StoredBundle;

  readonly envelopePath: string;
  readonly payloadType: string;
  readonly predicateType: string;
  readonly subject: { readonly name: string; readonly sha256: string };
  readonly kid: string;
}

export interface ReleaseResult {
  readonly releaseId: string;
  readonly name: string;
  readonly version: string;
  /** Where export wrote the bundle, on the worker that ran it (the model in the store is `reference`). */
  readonly bundleDir: string;
  /** `host/repo:version@sha256:…`: the model in the store (absent only in results of releases before the store). */
  readonly reference?: string;
  readonly rootDigest: string;
  readonly kid: string;
  readonly files: readonly FileDigest[];
  readonly signature: string;
  readonly attestations: readonly string[];
  readonly smoke?: {
    readonly result: 'PASSED' | 'WARNED';
    readonly maxAbsDiff: number;
    readonly maxRelDiff: number;
    /** The host fix-up the sandbox ran the model with, if any (recorded in the Test Result). */
    readonly sandboxFixup?: { readonly id: string; readonly sha256: string };
  };
  readonly canary?: { readonly outcome: 'promoted'; readonly model: string; readonly firstVersion: boolean; readonly decisions: number };
}

export interface SmokeOutputFigures {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  readonly maxAbsDiff: number;
  readonly maxRelDiff: number;
  readonly nonFinite: number;
  /** The allclose tolerance this output was judged under (absent in results recorded before per-element comparison). */
  readonly tolerance?: { readonly absolute: number; readonly relative: number };
  /** The element nearest to (or furthest past) its allowed difference (absent in older results and for empty outputs). */
  readonly worst?: SmokeWorstElement;
  /**
   * Dynamically quantized models only (smoke/quantized-agreement.ts): cosine similarity and
   * decisive top-1 agreement, and `passedBy: 'agreement'` when allclose failed but these held.
   */
  readonly agreement?: { readonly cosine: number; readonly decisiveRows: number; readonly top1Agreeing: number; readonly passedBy?: 'agreement' };
}

export interface SmokeWorstElement {
  /** Row-major flat index. */
  readonly index: number;
  /** The same as an N-d index. */
  readonly at: readonly number[];
  readonly sandbox: number;
  readonly native: number;
  /** |s − n| / (atol + rtol·|n|): above 1 fails; -1 when past every bound (NaN, an integer mismatch). */
  readonly ratio: number;
}


export interface SmokeResult {
  /** The bundle in the store after this stage: the reference and digests the next stage fetches by (set by the activity; absent when the stage ran on a folder directly). */
  readonly bundle?: StoredBundle;
  /** What this stage's pull moved: 0 bytes fetched when this host's blob cache held the model (releases through the store). */
  readonly pulled?: { readonly bytesFetched: number; readonly bytesFromCache: number };

  readonly result: 'PASSED' | 'WARNED';
  readonly attestationPath: string;
  readonly engineSha256: string;
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly type: string; readonly dims: readonly number[] }>;
  readonly outputs: readonly SmokeOutputFigures[];
  readonly maxAbsDiff: number;
  readonly maxRelDiff: number;
  readonly tolerance: { readonly absolute: number; readonly relative: number };
  readonly sandboxMs: number;
  readonly nativeMs: number;
  readonly plugins: ReadonlyArray<{ readonly path: string; readonly sha256: string; readonly passed: boolean; readonly message: string }>;
  readonly warning?: string;
  /** Absent in results recorded before the smoke stage verified bundles. */
  readonly verification?: SmokeVerification;
  /** With `smoke.dataPath`: the sandbox's outputs against the user's expected outputs (absent otherwise and in older results). */
  readonly expected?: SmokeExpectedFigures;
  /** A fix-up the host applied to the bytes handed to the sandbox (src/sandbox/model-fixups.ts); the signed model is unchanged. */
  readonly sandboxFixup?: { readonly id: string; readonly description: string; readonly sha256: string; readonly changed: readonly string[] };
}

/** The sandbox against the expected outputs of `smoke.dataPath`: per output, with the worst element. */
export interface SmokeExpectedFigures {
  readonly dataPath: string;
  /** The files read ('' for an .npz itself), with their SHA-256 (signed into the Test Result too). */
  readonly files: ReadonlyArray<{ readonly path: string; readonly sha256: string }>;
  readonly outputs: ReadonlyArray<Omit<SmokeOutputFigures, 'worst'> & { readonly worst?: SmokeExpectedWorstElement }>;
  readonly maxAbsDiff: number;
  readonly maxRelDiff: number;
}

export interface SmokeExpectedWorstElement {
  readonly index: number;
  readonly at: readonly number[];
  readonly sandbox: number;
  /** The value the data gives. */
  readonly expected: number;
  /** As SmokeWorstElement.ratio, against the expected value. */
  readonly ratio: number;
}
