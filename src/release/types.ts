/**
 * The data that crosses Temporal: small, JSON, and never secret. Paths are as the worker
 * sees them; keys are referred to by path and kid, never by their bytes.
 */

/** Where the model comes from. */
export type ModelSource =
  /** An ONNX file, or a directory holding exactly one .onnx model and its side files. */
  | { readonly kind: 'onnx'; readonly path: string }
  /** A training artifact turned into ONNX by an exporter the worker knows by name. */
  | {
      readonly kind: 'exporter';
      readonly exporter: string;
      readonly input: string;
      readonly timeoutSeconds?: number;
    };

export interface ReleaseRequest {
  readonly name: string;
  readonly version: string;
  readonly source: ModelSource;
  /** Path (on the worker) of the encrypted PKCS#8 Ed25519 key; its passphrase comes from the worker's environment. */
  readonly signingKeyPath: string;
  /** Who asked, for the provenance record. */
  readonly requestedBy?: string;
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

export interface FileDigest extends BundleFile {
  readonly sha256: string;
}

export interface SourceRef {
  readonly uri: string;
  readonly sha256: string;
}

export interface ExportResult {
  readonly bundleDir: string;
  /** The ONNX file among `files`. */
  readonly modelFile: string;
  readonly files: readonly BundleFile[];
  readonly model: ModelInfo;
  readonly source: SourceRef;
}

export interface HashResult {
  readonly rootDigest: string;
  readonly files: readonly FileDigest[];
  readonly totalBytes: number;
  readonly manifestPath: string;
  readonly manifestSha256: string;
}

export interface SignResult {
  readonly jwsPath: string;
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly typ: string;
  readonly manifestSha256: string;
}

export interface AttestResult {
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
  readonly bundleDir: string;
  readonly rootDigest: string;
  readonly kid: string;
  readonly files: readonly FileDigest[];
  readonly signature: string;
  readonly attestations: readonly string[];
}
