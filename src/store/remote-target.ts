import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { ArtifactNotFoundError, DigestMismatchError, RegistryProtocolError, RegistryUnavailableError } from '../errors/index.js';
import { checkBytes, isDigest, parseDigest, plainDescriptor, type Descriptor, type Digest } from '../oci/descriptor.js';
import { OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.js';
import { fallbackTag, parseIndex, referrersIndex, subjectOf } from '../oci/manifest.js';
import { RegistryClient, type RegistryClientOptions, type RegistryResponse } from '../oci/registry-client.js';
import type { Logger } from '../logger.js';
import type { Content, Target, TransferOptions } from './target.js';
import { writeVerified } from './verified-write.js';

const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

export interface RemoteTargetOptions extends RegistryClientOptions {
  readonly repository: string;
  /** Blobs up to this size go in one request (POST then PUT); larger ones in chunks. */
  readonly monolithicMaxBytes?: number;
  /** Chunk of a chunked upload; an interrupted upload resumes from the last chunk the registry acknowledged. */
  readonly chunkBytes?: number;
  /** Where an upload in progress is recorded, so a retry (in a new process too) resumes it. */
  readonly uploadStateDir?: string;
  readonly logger?: Logger;
}

interface UploadState {
  readonly location: string;
  readonly offset: number;
}

/**
 * A registry repository as a Target (OCI distribution spec v1.1). Referrers come from
 * `GET /v2/<name>/referrers/<digest>` where the registry serves it, else from the fallback
 * tag `sha256-<hex>`, which pushing a referrer keeps up to date when the registry does not
 * answer the push with `OCI-Subject` (distribution 2.8 and 3.1 do not).
 */
export class RemoteTarget implements Target {
  readonly name: string;
  readonly repository: string;
  readonly client: RegistryClient;
  private readonly monolithicMax: number;
  private readonly chunkBytes: number;
  private readonly uploadStateDir: string | undefined;
  /** Learned from the first referrers call: distribution (2.8, 3.1) answers 404. */
  private referrersApi: boolean | undefined;
  private readonly logger: Logger | undefined;

  constructor(options: RemoteTargetOptions) {
    this.client = new RegistryClient(options);
    this.repository = options.repository;
    this.name = `${options.registry}/${options.repository}`;
    this.monolithicMax = options.monolithicMaxBytes ?? 8 * 1024 * 1024;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024 * 1024;
    this.uploadStateDir = options.uploadStateDir;
    this.logger = options.logger;
  }

  private path(kind: 'manifests' | 'blobs' | 'referrers', ref: string): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }

  private isManifest(desc: Pick<Descriptor, 'mediaType'>): boolean {
    return desc.mediaType === OCI_MANIFEST || desc.mediaType === OCI_INDEX || desc.mediaType.includes('manifest');
  }

  async resolve(tagOrDigest: string): Promise<Descriptor> {
    const res = await this.client.request({ method: 'HEAD', path: this.path('manifests', tagOrDigest), repository: this.repository, headers: { accept: MANIFEST_ACCEPT }, accept: [404] });
    if (res.status === 404) throw new ArtifactNotFoundError(`registry ${this.client.registry}: ${this.repository}:${tagOrDigest} not found`);
    const mediaType = (res.headers.get('content-type') ?? OCI_MANIFEST).split(';')[0]!.trim();
    const size = Number(res.headers.get('content-length'));
    const digest = res.headers.get('docker-content-digest');
    if (isDigest(digest) && Number.isSafeInteger(size)) {
      if (isDigest(tagOrDigest) && digest !== tagOrDigest) throw new DigestMismatchError(`registry ${this.client.registry}: manifest ${this.repository}@${tagOrDigest} is served as ${digest}`);
      return { mediaType, digest, size };
    }
    // No digest header: read the manifest and digest it ourselves.
    const get = await this.client.request({ method: 'GET', path: this.path('manifests', tagOrDigest), repository: this.repository, headers: { accept: MANIFEST_ACCEPT } });
    const bytes = Buffer.from(await get.arrayBuffer());
    return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const res = await this.client.request({
      method: 'HEAD',
      path: this.path(this.isManifest(desc) ? 'manifests' : 'blobs', desc.digest),
      repository: this.repository,
      ...(this.isManifest(desc) ? { headers: { accept: MANIFEST_ACCEPT } } : {}),
      accept: [404],
    });
    return res.status !== 404;
  }

  async fetch(desc: Descriptor): Promise<Buffer> {
    const manifest = this.isManifest(desc);
    const res = await this.client.request({ method: 'GET', path: this.path(manifest ? 'manifests' : 'blobs', desc.digest), repository: this.repository, ...(manifest ? { headers: { accept: MANIFEST_ACCEPT } } : {}) });
    const bytes = Buffer.from(await res.arrayBuffer());
    checkBytes(desc, bytes, `registry ${this.client.registry}: ${manifest ? 'manifest' : 'blob'} ${this.repository}@${desc.digest}`);
    return bytes;
  }

  async fetchToFile(desc: Descriptor, path: string, options: TransferOptions = {}): Promise<void> {
    const what = `registry ${this.client.registry}: blob ${this.repository}@${desc.digest}`;
    const res = await this.client.stream({ method: 'GET', path: this.path('blobs', desc.digest), repository: this.repository, ...(options.signal ? { signal: options.signal } : {}) });
    try {
      await writeVerified(res.body, desc, path, what, options);
    } catch (err) {
      // The registry went away mid-body (reset, closed early): retryable, and says which registry.
      if (err instanceof DigestMismatchError || (err as Error).name === 'AbortError' || !isNetworkError(err)) throw err;
      throw new RegistryUnavailableError(`registry ${this.client.registry} broke off ${what.slice(what.indexOf('blob'))} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  }

  async push(desc: Descriptor, content: Content, options: TransferOptions = {}): Promise<void> {
    if (this.isManifest(desc)) {
      const bytes = 'bytes' in content ? Buffer.from(content.bytes) : await readFile(content.file);
      await this.putManifest(desc, bytes, desc.digest);
      return;
    }
    if (await this.exists(desc)) return;
    if ('bytes' in content) {
      checkBytes(desc, content.bytes, `push to ${this.name}`);
      await this.uploadMonolithic(desc.digest, Buffer.from(content.bytes), options.signal);
      return;
    }
    if (desc.size <= this.monolithicMax) {
      const bytes = await readFile(content.file);
      checkBytes(desc, bytes, `push of ${content.file} to ${this.name}`);
      await this.uploadMonolithic(desc.digest, bytes, options.signal);
      options.onProgress?.(bytes.length);
      return;
    }
    const got = await this.uploadChunked(content.file, options);
    if (got.digest !== desc.digest) throw new DigestMismatchError(`push of ${content.file} to ${this.name}: expected ${desc.digest}, the file gave ${got.digest}`);
  }

  async pushFile(mediaType: string, path: string, options: TransferOptions & { annotations?: Record<string, string> } = {}): Promise<Descriptor> {
    const size = (await stat(path)).size;
    let result: { digest: Digest; size: number };
    if (size <= this.monolithicMax) {
      const bytes = await readFile(path);
      result = { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
      if (!(await this.exists({ mediaType, ...result }))) {
        await this.uploadMonolithic(result.digest, bytes, options.signal);
        options.onProgress?.(bytes.length);
      }
    } else {
      // A file this host pushed before (same inode, size and mtime): its digest is known, so a HEAD may skip it.
      const known = await this.knownDigest(path);
      if (known && (await this.exists({ mediaType, digest: known, size }))) result = { digest: known, size };
      else {
        result = await this.uploadChunked(path, options);
        await this.rememberDigest(path, result.digest);
      }
    }
    return { mediaType, ...result, ...(options.annotations ? { annotations: options.annotations } : {}) };
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    await this.putManifest(desc, await this.fetch(desc), tag);
  }

  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    const all = await this.listReferrers(subject);
    return all.filter((d) => !artifactType || d.artifactType === artifactType);
  }

  private async listReferrers(subject: Descriptor): Promise<Descriptor[]> {
    if (this.referrersApi !== false) {
      const res = await this.client.request({ method: 'GET', path: this.path('referrers', subject.digest), repository: this.repository, headers: { accept: OCI_INDEX }, accept: [404, 400, 405] });
      const type = res.headers.get('content-type') ?? '';
      if (res.ok && type.startsWith(OCI_INDEX)) {
        this.referrersApi = true;
        return [...parseIndex(Buffer.from(await res.arrayBuffer()), `referrers of ${subject.digest} from ${this.name}`).manifests];
      }
      await res.body?.cancel();
      this.referrersApi = false;
    }
    return this.fallbackIndex(subject);
  }

  private async fallbackIndex(subject: Descriptor): Promise<Descriptor[]> {
    const tag = fallbackTag(subject);
    const res = await this.client.request({ method: 'GET', path: this.path('manifests', tag), repository: this.repository, headers: { accept: OCI_INDEX }, accept: [404] });
    if (res.status === 404) return [];
    return [...parseIndex(Buffer.from(await res.arrayBuffer()), `referrers index ${this.name}:${tag}`).manifests];
  }

  private async putManifest(desc: Descriptor, bytes: Buffer, ref: string): Promise<void> {
    checkBytes(desc, bytes, `push of manifest to ${this.name}`);
    const res = await this.client.request({ method: 'PUT', path: this.path('manifests', ref), repository: this.repository, push: true, headers: { 'content-type': desc.mediaType }, body: bytes });
    await res.body?.cancel();
    const subject = subjectOf(desc, bytes);
    if (subject && !res.headers.get('oci-subject')) await this.addToFallback(subject, plainDescriptor({ ...desc, ...(desc.artifactType ? {} : artifactTypeOf(bytes)) }));
  }

  /** Adds a referrer to the `sha256-<hex>` index of its subject (OCI distribution spec, referrers tag schema). */
  private async addToFallback(subject: Descriptor, referrer: Descriptor): Promise<void> {
    const existing = await this.fallbackIndex(subject);
    if (existing.some((d) => d.digest === referrer.digest)) return;
    const bytes = referrersIndex([...existing, referrer]);
    const desc: Descriptor = { mediaType: OCI_INDEX, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
    await this.putManifest(desc, bytes, fallbackTag(subject));
  }

  /**
   * With the referrers API, the referrer manifest is deleted (the API lists what exists); under
   * the fallback, it is dropped from the `sha256-<hex>` index and its bytes stay.
   */
  async detach(subject: Descriptor, referrer: Descriptor): Promise<void> {
    if (this.referrersApi === undefined) await this.listReferrers(subject);
    if (this.referrersApi) {
      const res = await this.client.request({ method: 'DELETE', path: this.path('manifests', referrer.digest), repository: this.repository, push: true, accept: [404] });
      await res.body?.cancel();
      return;
    }
    const existing = await this.fallbackIndex(subject);
    if (!existing.some((d) => d.digest === referrer.digest)) return;
    const bytes = referrersIndex(existing.filter((d) => d.digest !== referrer.digest));
    await this.putManifest({ mediaType: OCI_INDEX, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length }, bytes, fallbackTag(subject));
  }

  private async startUpload(signal?: AbortSignal): Promise<string> {
    const res = await this.client.request({ method: 'POST', path: `/v2/${this.repository}/blobs/uploads/`, repository: this.repository, push: true, ...(signal ? { signal } : {}) });
    await res.body?.cancel();
    return this.location(res);
  }

  private location(res: RegistryResponse): string {
    const loc = res.headers.get('location');
    if (!loc) throw new RegistryProtocolError(`registry ${this.client.registry} started an upload without a Location`);
    return new URL(loc, this.client.baseUrl).toString();
  }

  private async uploadMonolithic(digest: Digest, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    const location = await this.startUpload(signal);
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.client.request({ method: 'PUT', path: url.toString(), repository: this.repository, push: true, headers: { 'content-type': 'application/octet-stream' }, body: bytes, ...(signal ? { signal } : {}) });
    await res.body?.cancel();
  }

  private async stateFile(path: string): Promise<string | undefined> {
    if (!this.uploadStateDir) return undefined;
    const s = await stat(path);
    const key = createHash('sha256').update(`${this.name}\n${path}\n${s.size}\n${s.mtimeMs}\n${s.ino}`).digest('hex');
    return join(this.uploadStateDir, `${key}.json`);
  }

  private async digestFile(path: string): Promise<string | undefined> {
    if (!this.uploadStateDir) return undefined;
    const s = await stat(path);
    return join(this.uploadStateDir, `digest-${createHash('sha256').update(`${path}\n${s.size}\n${s.mtimeMs}\n${s.ino}\n${s.ctimeMs}`).digest('hex')}`);
  }

  private async knownDigest(path: string): Promise<Digest | undefined> {
    const file = await this.digestFile(path);
    const text = file ? await readFile(file, 'utf8').catch(() => undefined) : undefined;
    return isDigest(text) ? text : undefined;
  }

  private async rememberDigest(path: string, digest: Digest): Promise<void> {
    const file = await this.digestFile(path);
    if (!file) return;
    await mkdir(this.uploadStateDir!, { recursive: true });
    await writeFile(file, digest);
  }

  /** How far the registry got with an upload session, or undefined if the session is gone. */
  private async uploadOffset(location: string): Promise<number | undefined> {
    try {
      const res = await this.client.request({ method: 'GET', path: location, repository: this.repository, push: true, accept: [404] });
      await res.body?.cancel();
      if (res.status === 404) return undefined;
      const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get('range') ?? '');
      return range ? Number(range[1]) + 1 : 0;
    } catch (err) {
      if (err instanceof ArtifactNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * POST, then PATCH chunks streamed from the file, then PUT ?digest=: the file is read once and
   * hashed on the way. Each acknowledged chunk is recorded, so a retry re-reads locally (to
   * rebuild the hash) what the registry already holds and sends only the rest. A process killed
   * in the middle of a chunk leaves a session distribution 2.8 refuses (BLOB_UPLOAD_INVALID):
   * the retry then starts that file's upload afresh (files already uploaded are skipped by HEAD).
   */
  private async uploadChunked(path: string, options: TransferOptions): Promise<{ digest: Digest; size: number }> {
    const size = (await stat(path)).size;
    const stateFile = await this.stateFile(path);
    let location: string | undefined;
    let offset = 0;
    if (stateFile) {
      const saved = await readFile(stateFile, 'utf8').then((t) => JSON.parse(t) as UploadState, () => undefined);
      if (saved) {
        const at = await this.uploadOffset(saved.location);
        if (at !== undefined && at <= size) {
          location = saved.location;
          offset = at;
          this.logger?.info({ registry: this.client.registry, repository: this.repository, path, resumeAt: offset }, 'resuming blob upload');
        }
      }
    }
    location ??= await this.startUpload(options.signal);
    const hash = createHash('sha256');
    if (offset > 0) {
      for await (const chunk of createReadStream(path, { start: 0, end: offset - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    }
    const save = async (state: UploadState) => {
      if (!stateFile) return;
      await mkdir(this.uploadStateDir!, { recursive: true });
      await writeFile(stateFile, JSON.stringify(state));
    };
    await save({ location, offset });
    while (offset < size) {
      // Cancellation is honoured between chunks, not inside one: distribution invalidates an
      // upload session whose PATCH was cut off, so a finished chunk is what a retry resumes from.
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new DOMException('upload cancelled', 'AbortError');
      const end = Math.min(size, offset + this.chunkBytes) - 1;
      const from = offset;
      let sent = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          sent += chunk.length;
          options.onProgress?.(from + sent);
          done(null, chunk);
        },
      });
      const body = createReadStream(path, { start: offset, end, highWaterMark: 1 << 20 }).pipe(tap);
      const res = await this.client.request({
        method: 'PATCH',
        path: location,
        repository: this.repository,
        push: true,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end}`, 'content-length': String(end - offset + 1) },
        body,
      });
      await res.body?.cancel();
      location = this.location(res);
      offset = end + 1;
      await save({ location, offset });
    }
    const digest: Digest = `sha256:${hash.digest('hex')}`;
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.client.request({ method: 'PUT', path: url.toString(), repository: this.repository, push: true, headers: { 'content-length': '0' }, ...(options.signal ? { signal: options.signal } : {}) });
    await res.body?.cancel();
    if (stateFile) await rm(stateFile, { force: true });
    parseDigest(digest, 'upload');
    return { digest, size };
  }
}

function artifactTypeOf(manifestBytes: Buffer): { artifactType?: string } {
  const m = JSON.parse(manifestBytes.toString('utf8')) as { artifactType?: unknown; config?: { mediaType?: unknown } };
  const type = typeof m.artifactType === 'string' ? m.artifactType : typeof m.config?.mediaType === 'string' ? m.config.mediaType : undefined;
  return type ? { artifactType: type } : {};
}

/** A socket-level failure while a body streams (as opposed to a disk error writing it). */
function isNetworkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code) || (err as Error).message === 'aborted';
}
