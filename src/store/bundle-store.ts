import type { Descriptor } from '../oci/descriptor.js';
import type { BundlePart } from '../oci/media-types.js';
import type { TransferOptions } from './target.js';

/** A pushed or pulled bundle: the pinned reference every stage and the serving runtime pass on. */
export interface StoredBundle {
  /** `host/repo:version@sha256:…` (or `oci-layout:<dir>:version@sha256:…`). */
  readonly reference: string;
  /** The ModelPack manifest's descriptor. */
  readonly manifest: Descriptor;
  /** The referrers found or pushed, by bundle part (model.yaml, model.jws, attestations). */
  readonly parts: Partial<Record<BundlePart, Descriptor>>;
}

export interface PullResult extends StoredBundle {
  /** The folder, laid out as src/bundle/layout.ts says, so verifyBundle runs on it. */
  readonly bundleDir: string;
  readonly bytesFetched: number;
  readonly bytesFromCache: number;
}

export interface PullOptions extends TransferOptions {
  /** false: model blobs are written straight into the folder and not kept in the host's cache (default true). */
  readonly useCache?: boolean;
}

/** The model files alone of a ModelPack artifact (any producer's: KitOps, Docker Model Runner, ours). */
export interface ModelPull {
  readonly reference: string;
  readonly manifest: Descriptor;
  readonly modelDir: string;
  readonly bytesFetched: number;
  readonly bytesFromCache: number;
}

/**
 * A release bundle as an OCI ModelPack artifact with its bundle files as referrers, in any
 * Target (memory, OCI layout folder, registry). Stages exchange `StoredBundle.reference`, never
 * host paths.
 */
export interface BundleStore {
  /** Pushes model files, config and manifest (tagged with the version), then every bundle file present as a referrer. */
  pushBundle(bundleDir: string, reference: string, options?: TransferOptions): Promise<StoredBundle>;
  /** Attaches one bundle file (e.g. model.jws after signing) to a model already pushed; replaces an older one of that part. */
  attach(reference: string, part: BundlePart, bytes: Uint8Array): Promise<StoredBundle>;
  /** Reads one part's bytes (verified) without pulling the model files. */
  readPart(reference: string, part: BundlePart): Promise<Buffer | undefined>;
  /** Materialises the bundle into `dir`, every digest checked, model blobs through the local cache. */
  pullBundle(reference: string, dir: string, options?: PullOptions & { readonly parts?: readonly BundlePart[] }): Promise<PullResult>;
  /** Writes only the model files of a ModelPack artifact into an empty `modelDir` (a release source). */
  pullModel(reference: string, modelDir: string, options?: PullOptions): Promise<ModelPull>;
}
