import type { Descriptor } from '../oci/descriptor.js';

/** Bytes to push: in memory (manifests, small files) or a file streamed from disk. */
export type Content = { readonly bytes: Uint8Array } | { readonly file: string };

export interface TransferOptions {
  readonly signal?: AbortSignal;
  /** Called as bytes move, for heartbeats and progress (total bytes so far of this object). */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * Content-addressed storage with tags and referrers, modelled on oras-go's Target
 * (content.Storage + TagResolver + ReferrerLister). A memory map, an OCI layout folder and a
 * registry repository all serve it, so every stage that moves a bundle runs one code path.
 *
 * Everything read is checked against the descriptor's digest and size before it is returned or
 * moved into place: a store that hands back other bytes raises DigestMismatchError.
 */
export interface Target {
  /** Where this is, for messages: `host/repo` or `oci-layout:<dir>`. Never holds credentials. */
  readonly name: string;
  /** A tag or a digest to the descriptor of the manifest (or index) it names. */
  resolve(tagOrDigest: string): Promise<Descriptor>;
  exists(desc: Descriptor): Promise<boolean>;
  /** The verified bytes of a manifest or a small blob. */
  fetch(desc: Descriptor): Promise<Buffer>;
  /** Streams a blob into `path` (written to a temporary name, renamed once verified). */
  fetchToFile(desc: Descriptor, path: string, options?: TransferOptions): Promise<void>;
  /**
   * Stores content under its descriptor; a no-op when the store already holds it. Pushing a
   * manifest with a `subject` makes it a referrer of that subject (in a registry without the
   * referrers API, through the `sha256-<hex>` fallback index).
   */
  push(desc: Descriptor, content: Content, options?: TransferOptions): Promise<void>;
  /** Stores a file whose digest is not known yet, computing it on the way (read once). */
  pushFile(mediaType: string, path: string, options?: TransferOptions & { readonly annotations?: Record<string, string> }): Promise<Descriptor>;
  /** Points a tag at a manifest already in the store. */
  tag(desc: Descriptor, tag: string): Promise<void>;
  /** Manifests whose `subject` is `subject`, optionally only of one artifactType. */
  referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]>;
  /** Stops listing `referrer` as a referrer of `subject` (a superseded signature or attestation). */
  detach(subject: Descriptor, referrer: Descriptor): Promise<void>;
}
