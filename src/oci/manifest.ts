import { NotAModelError, RegistryProtocolError } from '../errors/index.js';
import { describeBytes, parseDigest, plainDescriptor, type Descriptor } from './descriptor.js';
import { MODEL_ARTIFACT, MODEL_CONFIG, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

/** OCI image manifest (image-spec v1.1), as modelship writes and reads it. */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_MANIFEST;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_INDEX;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Serialised once: the digest is over exactly these bytes. */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

export function manifestDescriptor(manifest: ImageManifest): { desc: Descriptor; bytes: Buffer } {
  const bytes = encodeJson(manifest);
  return { desc: describeBytes(OCI_MANIFEST, bytes, manifest.artifactType ? { artifactType: manifest.artifactType } : {}), bytes };
}

function descriptorFrom(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw new RegistryProtocolError(`${where} is not a descriptor`);
  const v = value as Record<string, unknown>;
  if (typeof v.mediaType !== 'string') throw new RegistryProtocolError(`${where}.mediaType is missing`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw new RegistryProtocolError(`${where}.size is not a byte count`);
  return plainDescriptor({
    mediaType: v.mediaType,
    digest: parseDigest(v.digest, `${where}.digest`),
    size: v.size as number,
    ...(typeof v.artifactType === 'string' ? { artifactType: v.artifactType } : {}),
    ...(isStringRecord(v.annotations) ? { annotations: v.annotations } : {}),
  });
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((x) => typeof x === 'string');
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RegistryProtocolError(`${what} is not a JSON object`);
}

export function parseManifest(bytes: Uint8Array, what: string): ImageManifest {
  const m = parseJson(bytes, what);
  if (m.mediaType !== undefined && m.mediaType !== OCI_MANIFEST) throw new NotAModelError(`${what} is a ${String(m.mediaType)}, not an OCI image manifest`);
  if (!Array.isArray(m.layers)) throw new NotAModelError(`${what} has no layers: not an OCI image manifest`);
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(typeof m.artifactType === 'string' ? { artifactType: m.artifactType } : {}),
    config: descriptorFrom(m.config, `${what} config`),
    layers: (m.layers as unknown[]).map((l, i) => descriptorFrom(l, `${what} layers[${i}]`)),
    ...(m.subject !== undefined ? { subject: descriptorFrom(m.subject, `${what} subject`) } : {}),
    ...(isStringRecord(m.annotations) ? { annotations: m.annotations } : {}),
  };
}

export function parseIndex(bytes: Uint8Array, what: string): ImageIndex {
  const m = parseJson(bytes, what);
  if (!Array.isArray(m.manifests)) throw new RegistryProtocolError(`${what} is not an image index (no manifests)`);
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: (m.manifests as unknown[]).map((d, i) => descriptorFrom(d, `${what} manifests[${i}]`)),
    ...(isStringRecord(m.annotations) ? { annotations: m.annotations } : {}),
  };
}

/** The subject of a manifest being pushed, if it is a manifest with one (it then is a referrer). */
export function subjectOf(desc: Descriptor, bytes: Uint8Array): Descriptor | undefined {
  if (desc.mediaType !== OCI_MANIFEST) return undefined;
  try {
    return parseManifest(bytes, 'manifest').subject;
  } catch {
    return undefined;
  }
}

/** Throws a clear error unless the manifest is a ModelPack model. */
export function checkIsModel(manifest: ImageManifest, what: string): void {
  if (manifest.artifactType !== MODEL_ARTIFACT && manifest.config.mediaType !== MODEL_CONFIG) {
    throw new NotAModelError(
      `${what} is not a model: artifactType ${manifest.artifactType ?? '(none)'}, config ${manifest.config.mediaType}; a ModelPack model has artifactType ${MODEL_ARTIFACT} and config ${MODEL_CONFIG}`,
    );
  }
}

/** The referrers API answer (and the fallback tag's content): an image index of referrer descriptors. */
export function referrersIndex(manifests: readonly Descriptor[]): Buffer {
  return encodeJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: manifests.map(plainDescriptor) });
}

/** The OCI fallback tag under which referrers of `subject` are listed when the registry has no referrers API. */
export function fallbackTag(subject: Pick<Descriptor, 'digest'>): string {
  return subject.digest.replace(':', '-');
}
