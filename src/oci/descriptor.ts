import { createHash } from 'node:crypto';
import { DigestMismatchError, RegistryProtocolError } from '../errors/index.js';

/** An OCI content descriptor: what every store operation is addressed by. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** `sha256:<64 hex>`: the only algorithm modelship writes or accepts. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function parseDigest(value: unknown, where: string): Digest {
  if (!isDigest(value)) throw new RegistryProtocolError(`${where}: ${JSON.stringify(value)} is not a sha256 digest`);
  return value;
}

export function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function describeBytes(mediaType: string, bytes: Uint8Array, extra: Pick<Descriptor, 'artifactType' | 'annotations'> = {}): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.byteLength, ...extra };
}

/** Throws unless the bytes are exactly what the descriptor names. `what` says which object (for the error). */
export function checkBytes(desc: Pick<Descriptor, 'digest' | 'size'>, bytes: Uint8Array, what: string): void {
  const actual = digestOf(bytes);
  if (actual !== desc.digest || bytes.byteLength !== desc.size) {
    throw new DigestMismatchError(`${what}: expected ${desc.digest} (${desc.size} bytes), got ${actual} (${bytes.byteLength} bytes)`);
  }
}

/** The plain descriptor fields, as they go into a manifest (no extra keys from a caller's object). */
export function plainDescriptor(desc: Descriptor): Descriptor {
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    ...(desc.artifactType ? { artifactType: desc.artifactType } : {}),
    ...(desc.annotations && Object.keys(desc.annotations).length ? { annotations: desc.annotations } : {}),
  };
}
