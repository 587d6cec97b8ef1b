import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { ArtifactNotFoundError, DigestMismatchError, TransientIoError } from '../errors/index.js';
import { checkBytes, hexOf, isDigest, plainDescriptor, type Descriptor } from '../oci/descriptor.js';
import { ANNOTATION_REF_NAME, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js';
import { encodeJson, parseIndex, subjectOf, parseManifest } from '../oci/manifest.js';
import { LAYOUT_SCHEME } from '../oci/reference.js';
import type { Content, Target, TransferOptions } from './target.js';
import { digestFile, writeVerified } from './verified-write.js';
import { withDirLock } from './dir-lock.js';

/**
 * A Target in an OCI image layout folder (image-spec image-layout.md): `oci-layout`,
 * `index.json`, `blobs/sha256/<hex>`. Tags are index.json entries with
 * `org.opencontainers.image.ref.name`; referrer manifests are listed there untagged, so
 * referrers are found natively (and `oras … --oci-layout` reads the folder too).
 */
export class LayoutTarget implements Target {
  readonly name: string;

  constructor(readonly dir: string) {
    this.name = `${LAYOUT_SCHEME}${dir}`;
  }

  private blobPath(desc: Pick<Descriptor, 'digest'>): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(desc.digest));
  }

  private async readIndexEntries(): Promise<Descriptor[]> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, 'index.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TransientIoError(`${this.name}: cannot read index.json: ${(err as Error).message}`, { cause: err });
    }
    return [...parseIndex(bytes, `${this.name}/index.json`).manifests];
  }

  /** Read-modify-write of index.json under a folder lock, so parallel releases of one model lose no entry. */
  private async updateIndex(change: (entries: Descriptor[]) => Descriptor[]): Promise<void> {
    await this.init();
    await withDirLock(join(this.dir, 'index.json.lock'), async () => {
      const entries = change(await this.readIndexEntries());
      const temp = join(this.dir, `index.json.${randomUUID().slice(0, 8)}`);
      await writeFile(temp, encodeJson({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
      await rename(temp, join(this.dir, 'index.json'));
    });
  }

  private async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    try {
      await writeFile(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }

  async resolve(tagOrDigest: string): Promise<Descriptor> {
    const entries = await this.readIndexEntries();
    const found = isDigest(tagOrDigest)
      ? entries.find((d) => d.digest === tagOrDigest)
      : entries.find((d) => d.annotations?.[ANNOTATION_REF_NAME] === tagOrDigest);
    if (found) {
      const { [ANNOTATION_REF_NAME]: _tag, ...rest } = found.annotations ?? {};
      return plainDescriptor({ ...found, annotations: rest });
    }
    if (isDigest(tagOrDigest)) {
      // An untagged manifest: its media type is read from the blob itself.
      const path = this.blobPath({ digest: tagOrDigest });
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes) {
        const mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? OCI_MANIFEST;
        return { mediaType, digest: tagOrDigest, size: bytes.length };
      }
    }
    throw new ArtifactNotFoundError(`${this.name}: ${tagOrDigest} not found`);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    try {
      return (await stat(this.blobPath(desc))).size === desc.size;
    } catch {
      return false;
    }
  }

  async fetch(desc: Descriptor): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(desc));
    } catch (err) {
      throw new ArtifactNotFoundError(`${this.name}: blob ${desc.digest} not found`, { cause: err });
    }
    checkBytes(desc, bytes, `${this.name} blob ${desc.digest}`);
    return bytes;
  }

  async fetchToFile(desc: Descriptor, path: string, options?: TransferOptions): Promise<void> {
    if (!(await this.exists(desc))) throw new ArtifactNotFoundError(`${this.name}: blob ${desc.digest} not found`);
    await writeVerified(createReadStream(this.blobPath(desc), { highWaterMark: 1 << 20 }), desc, path, `${this.name} blob ${desc.digest}`, options);
  }

  async push(desc: Descriptor, content: Content, options?: TransferOptions): Promise<void> {
    await this.init();
    const path = this.blobPath(desc);
    if (!(await this.exists(desc))) {
      if ('bytes' in content) {
        checkBytes(desc, content.bytes, `push to ${this.name}`);
        const temp = `${path}.${randomUUID().slice(0, 8)}`;
        await writeFile(temp, content.bytes);
        await rename(temp, path);
      } else {
        await writeVerified(createReadStream(content.file, { highWaterMark: 1 << 20 }), desc, path, `push of ${content.file} to ${this.name}`, options);
      }
    }
    if (desc.mediaType === OCI_MANIFEST || desc.mediaType === OCI_INDEX) {
      const bytes = 'bytes' in content ? Buffer.from(content.bytes) : await readFile(path);
      if (subjectOf(desc, bytes)) {
        // Referrers are listed untagged in index.json, which is how this folder finds them.
        const entry = plainDescriptor({ ...desc, ...(desc.artifactType ? {} : { artifactType: parseManifest(bytes, desc.digest).artifactType }) });
        await this.updateIndex((entries) => (entries.some((d) => d.digest === desc.digest && !d.annotations?.[ANNOTATION_REF_NAME]) ? entries : [...entries, entry]));
      }
    }
  }

  async pushFile(mediaType: string, path: string, options: TransferOptions & { annotations?: Record<string, string> } = {}): Promise<Descriptor> {
    await this.init();
    // Hard link or reflink into a temporary name first, so the bytes hashed are the bytes stored.
    const temp = join(this.dir, 'blobs', `ingest-${randomUUID()}`);
    try {
      await link(path, temp).catch(() => copyFile(path, temp, constants.COPYFILE_FICLONE));
      const { digest, size } = await digestFile(temp, options);
      const desc: Descriptor = { mediaType, digest, size, ...(options.annotations ? { annotations: options.annotations } : {}) };
      if (await this.exists(desc)) await rm(temp, { force: true });
      else await rename(temp, this.blobPath(desc));
      return desc;
    } catch (err) {
      await rm(temp, { force: true });
      if (err instanceof DigestMismatchError) throw err;
      throw new TransientIoError(`${this.name}: cannot store ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    if (!(await this.exists(desc))) throw new ArtifactNotFoundError(`${this.name}: cannot tag ${desc.digest}: not in the folder`);
    const entry = plainDescriptor({ ...desc, annotations: { ...(desc.annotations ?? {}), [ANNOTATION_REF_NAME]: tag } });
    await this.updateIndex((entries) => [...entries.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] !== tag), entry]);
  }

  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    for (const entry of await this.readIndexEntries()) {
      if (entry.mediaType !== OCI_MANIFEST || entry.annotations?.[ANNOTATION_REF_NAME]) continue;
      const bytes = await readFile(this.blobPath(entry)).catch(() => undefined);
      if (!bytes) continue;
      if (subjectOf(entry, bytes)?.digest !== subject.digest) continue;
      if (artifactType && entry.artifactType !== artifactType) continue;
      found.push(entry);
    }
    return found;
  }

  async detach(_subject: Descriptor, referrer: Descriptor): Promise<void> {
    await this.updateIndex((entries) => entries.filter((d) => d.digest !== referrer.digest || d.annotations?.[ANNOTATION_REF_NAME] !== undefined));
  }
}
