import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { ArtifactNotFoundError } from '../errors/index.js';
import { checkBytes, describeBytes, isDigest, plainDescriptor, type Descriptor } from '../oci/descriptor.js';
import { subjectOf } from '../oci/manifest.js';
import type { Content, Target, TransferOptions } from './target.js';
import { writeVerified } from './verified-write.js';

/** A Target in memory: for tests and for staging a bundle before it is copied elsewhere. Referrers natively. */
export class MemoryTarget implements Target {
  readonly name: string;
  private readonly blobs = new Map<string, Buffer>();
  private readonly tags = new Map<string, Descriptor>();
  private readonly referrerIndex = new Map<string, Descriptor[]>();

  constructor(name = 'memory') {
    this.name = name;
  }

  async resolve(tagOrDigest: string): Promise<Descriptor> {
    const tagged = this.tags.get(tagOrDigest);
    if (tagged) return tagged;
    if (isDigest(tagOrDigest)) {
      for (const d of [...this.tags.values(), ...[...this.referrerIndex.values()].flat()]) if (d.digest === tagOrDigest) return d;
    }
    throw new ArtifactNotFoundError(`${this.name}: ${tagOrDigest} not found`);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.blobs.has(desc.digest);
  }

  async fetch(desc: Descriptor): Promise<Buffer> {
    const bytes = this.blobs.get(desc.digest);
    if (!bytes) throw new ArtifactNotFoundError(`${this.name}: ${desc.digest} not found`);
    checkBytes(desc, bytes, `${this.name} ${desc.digest}`);
    return bytes;
  }

  async fetchToFile(desc: Descriptor, path: string, options?: TransferOptions): Promise<void> {
    await writeVerified(Readable.from([await this.fetch(desc)]), desc, path, `${this.name} ${desc.digest}`, options);
  }

  async push(desc: Descriptor, content: Content): Promise<void> {
    const bytes = 'bytes' in content ? Buffer.from(content.bytes) : await readFile(content.file);
    checkBytes(desc, bytes, `push to ${this.name}`);
    this.blobs.set(desc.digest, bytes);
    const subject = subjectOf(desc, bytes);
    if (subject) {
      const list = (this.referrerIndex.get(subject.digest) ?? []).filter((d) => d.digest !== desc.digest);
      this.referrerIndex.set(subject.digest, [...list, plainDescriptor(desc)]);
    }
  }

  async pushFile(mediaType: string, path: string, options: { annotations?: Record<string, string> } = {}): Promise<Descriptor> {
    const bytes = await readFile(path);
    const desc = describeBytes(mediaType, bytes, options.annotations ? { annotations: options.annotations } : {});
    await this.push(desc, { bytes });
    return desc;
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    if (!this.blobs.has(desc.digest)) throw new ArtifactNotFoundError(`${this.name}: cannot tag ${desc.digest}: not in the store`);
    this.tags.set(tag, plainDescriptor(desc));
  }

  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    return (this.referrerIndex.get(subject.digest) ?? []).filter((d) => !artifactType || d.artifactType === artifactType);
  }

  async detach(subject: Descriptor, referrer: Descriptor): Promise<void> {
    this.referrerIndex.set(subject.digest, (this.referrerIndex.get(subject.digest) ?? []).filter((d) => d.digest !== referrer.digest));
  }

  /** Overwrites stored bytes without checking: for tests of tampering. */
  corrupt(digest: string, bytes: Buffer): void {
    this.blobs.set(digest, bytes);
  }
}
