import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BundleConflictError, NotAModelError, ReferenceError } from '../errors/index.js';
import { bundlePaths, BUNDLE_MANIFEST, BUNDLE_PROVENANCE, BUNDLE_SIGNATURE, BUNDLE_SMOKE } from '../bundle/layout.js';
import type { Manifest } from '../bundle/manifest.js';
import { canonicalPathProblem } from '../hashing/root-digest.js';
import { checkBytes, describeBytes, isDigest, plainDescriptor, type Descriptor } from '../oci/descriptor.js';
import { checkIsModel, manifestDescriptor, parseManifest, type ImageManifest } from '../oci/manifest.js';
import { ANNOTATION_CREATED, ANNOTATION_FILEPATH, ANNOTATION_PREDICATE_TYPE, ANNOTATION_TITLE, BUNDLE_PARTS, BUNDLE_REFERRERS, EMPTY_JSON, MODEL_LAYER_TYPES, OCI_EMPTY, OCI_MANIFEST, type BundlePart } from '../oci/media-types.js';
import { configDescriptor, layerAnnotations, layerTypeFor, modelConfig, modelManifest } from '../oci/model-pack.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import { SLSA_PROVENANCE_V1 } from '../attest/provenance.js';
import { TEST_RESULT_V01 } from '../attest/test-result.js';
import { BlobCache } from './blob-cache.js';
import type { BundleStore, ModelPull, PullOptions, PullResult, StoredBundle } from './bundle-store.js';
import { openTarget, type OpenTargetOptions } from './open-target.js';
import type { Target, TransferOptions } from './target.js';
import { writeVerified } from './verified-write.js';
import { Readable } from 'node:stream';
import type { Logger } from '../logger.js';

/** Where each referrer part lives in a bundle folder. */
export const PART_PATHS: Readonly<Record<BundlePart, string>> = {
  manifest: BUNDLE_MANIFEST,
  signature: BUNDLE_SIGNATURE,
  provenance: BUNDLE_PROVENANCE,
  smoke: BUNDLE_SMOKE,
};

const PREDICATE_TYPES: Partial<Record<BundlePart, string>> = { provenance: SLSA_PROVENANCE_V1, smoke: TEST_RESULT_V01 };

const EMPTY_CONFIG: Descriptor = describeBytes(OCI_EMPTY, EMPTY_JSON);

/** Manifests and bundle parts are read into memory: a store claiming more is refused (distribution caps manifests at 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_PART_BYTES = 16 * 1024 * 1024;

/** How many model files move at once (oras moves 3): enough to keep the link busy while one is written and hashed. */
const PARALLEL_LAYERS = 3;

export interface OciBundleStoreOptions extends OpenTargetOptions {
  readonly cache?: BlobCache;
  /** Opens a Target for a reference's location (default: openTarget). Tests pass their own. */
  readonly open?: (ref: Reference) => Target;
}

/** The BundleStore over any Target: memory, OCI layout folder or registry run this same code. */
export class OciBundleStore implements BundleStore {
  readonly cache: BlobCache;
  private readonly open: (ref: Reference) => Target;
  private readonly targets = new Map<string, Target>();
  private readonly logger: Logger | undefined;

  constructor(options: OciBundleStoreOptions = {}) {
    this.cache = options.cache ?? new BlobCache();
    this.logger = options.logger;
    this.open = options.open ?? ((ref) => openTarget(ref.location, options));
  }

  target(ref: Reference): Target {
    const key = JSON.stringify(ref.location);
    let target = this.targets.get(key);
    if (!target) {
      target = this.open(ref);
      this.targets.set(key, target);
    }
    return target;
  }

  async pushBundle(bundleDir: string, reference: string, options: TransferOptions = {}): Promise<StoredBundle> {
    const ref = parseReference(reference);
    if (!ref.tag) throw new ReferenceError(`push to ${reference}: needs a tag (the version), e.g. ${reference}:1.0.0`);
    const target = this.target(ref);
    const paths = bundlePaths(bundleDir);
    const manifestBytes = await readFile(paths.manifest);
    // Loaded here, not at start: the yaml parser costs ~40 ms of start-up a pull never uses.
    const { parseManifest: parseModelYaml } = await import('../bundle/manifest.js');
    const manifest = parseModelYaml(manifestBytes.toString('utf8'));

    const layers = await this.pushModelFiles(target, paths.modelDir, manifest, options);
    const configBytes = modelConfig(manifest, layers);
    const config = configDescriptor(configBytes);
    await target.push(config, { bytes: configBytes });
    const { desc, bytes } = manifestDescriptor(modelManifest(manifest, config, layers));
    await target.push(desc, { bytes });
    await target.tag(desc, ref.tag);

    const parts: Partial<Record<BundlePart, Descriptor>> = {};
    for (const part of BUNDLE_PARTS) {
      const content = await readFile(join(bundleDir, PART_PATHS[part])).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (content) parts[part] = await this.attachTo(target, desc, part, content, manifest.createdAt);
    }
    return { reference: formatReference({ location: ref.location, tag: ref.tag, digest: desc.digest }), manifest: desc, parts };
  }

  /** One raw layer per model file, in model.yaml's (canonical) order, pushed at most twice at once. */
  private async pushModelFiles(target: Target, modelDir: string, manifest: Manifest, options: TransferOptions): Promise<Descriptor[]> {
    const layers: Descriptor[] = new Array(manifest.files.length);
    let next = 0;
    let done = 0;
    const progress = new Map<number, number>();
    const report = (i: number, n: number) => {
      progress.set(i, n);
      options.onProgress?.(done + [...progress.values()].reduce((a, b) => a + b, 0));
    };
    const plainDigest = (size: number) => manifest.digest.rule === 'modelship-root-v1' || size <= (manifest.digest.shardBytes ?? 0);
    const work = async () => {
      for (let i = next++; i < manifest.files.length; i = next++) {
        const file = manifest.files[i]!;
        const mediaType = layerTypeFor(file.path);
        const annotations = layerAnnotations(file.path);
        const path = join(modelDir, file.path);
        const transfer = { ...(options.signal ? { signal: options.signal } : {}), onProgress: (n: number) => report(i, n) };
        if (plainDigest(file.size)) {
          // model.yaml's digest of a one-shard file is its plain SHA-256: a HEAD may skip the upload.
          const desc: Descriptor = { mediaType, digest: `sha256:${file.sha256}`, size: file.size, annotations };
          await target.push(desc, { file: path }, transfer);
          layers[i] = desc;
        } else {
          layers[i] = await target.pushFile(mediaType, path, { ...transfer, annotations });
        }
        progress.delete(i);
        done += file.size;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_LAYERS, manifest.files.length) }, work));
    return layers;
  }

  async attach(reference: string, part: BundlePart, bytes: Uint8Array): Promise<StoredBundle> {
    const ref = parseReference(reference);
    const target = this.target(ref);
    const { desc, manifest } = await this.resolveModel(target, ref);
    const created = manifest.annotations?.[ANNOTATION_CREATED] ?? new Date(0).toISOString();
    const partDesc = await this.attachTo(target, desc, part, Buffer.from(bytes), created);
    return { reference: formatReference({ location: ref.location, ...(ref.tag ? { tag: ref.tag } : {}), digest: desc.digest }), manifest: desc, parts: { [part]: partDesc } };
  }

  /**
   * A referrer manifest: empty config, one layer with the part's bytes, subject the model. Its
   * bytes depend only on the content, so a retried stage pushes the same digest again (a no-op);
   * an older referrer of the same part with other content is detached.
   */
  private async attachTo(target: Target, subject: Descriptor, part: BundlePart, content: Buffer, created: string): Promise<Descriptor> {
    const spec = BUNDLE_REFERRERS[part];
    const layer = describeBytes(spec.layerType, content, { annotations: { [ANNOTATION_TITLE]: spec.title } });
    await target.push(EMPTY_CONFIG, { bytes: EMPTY_JSON });
    await target.push(layer, { bytes: content });
    const predicateType = PREDICATE_TYPES[part];
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: spec.artifactType,
      config: EMPTY_CONFIG,
      layers: [layer],
      subject: plainDescriptor({ mediaType: subject.mediaType, digest: subject.digest, size: subject.size }),
      annotations: { [ANNOTATION_CREATED]: created, ...(predicateType ? { [ANNOTATION_PREDICATE_TYPE]: predicateType } : {}) },
    };
    const { desc, bytes } = manifestDescriptor(manifest);
    const referrer: Descriptor = { ...desc, ...(manifest.annotations ? { annotations: manifest.annotations } : {}) };
    await target.push(referrer, { bytes });
    for (const old of await target.referrers(subject, spec.artifactType)) {
      if (old.digest !== referrer.digest) await target.detach(subject, old);
    }
    return desc;
  }

  /** The model manifest a reference names (digest wins over tag), verified and through the cache. */
  private async resolveModel(target: Target, ref: Reference): Promise<{ desc: Descriptor; manifest: ImageManifest }> {
    const where = formatReference(ref);
    let desc: Descriptor | undefined;
    let bytes: Buffer | undefined;
    if (ref.digest && isDigest(ref.digest)) {
      bytes = await this.readCachedByDigest(ref.digest);
      if (bytes) desc = { mediaType: OCI_MANIFEST, digest: ref.digest, size: bytes.length };
    }
    if (!desc || !bytes) {
      desc = await target.resolve(ref.digest ?? ref.tag!);
      if (desc.size > MAX_MANIFEST_BYTES) throw new NotAModelError(`${where}: the manifest is ${desc.size} bytes, more than a model manifest may be (${MAX_MANIFEST_BYTES})`);
      bytes = await this.fetchCached(target, desc);
    }
    const manifest = parseManifest(bytes, where);
    checkIsModel(manifest, where);
    return { desc: { mediaType: OCI_MANIFEST, digest: desc.digest, size: desc.size, artifactType: manifest.artifactType ?? manifest.config.mediaType }, manifest };
  }

  private async readCachedByDigest(digest: `sha256:${string}`): Promise<Buffer | undefined> {
    const bytes = await readFile(this.cache.pathOf({ digest })).catch(() => undefined);
    if (!bytes) return undefined;
    checkBytes({ digest, size: bytes.length }, bytes, `cached ${digest}`);
    return bytes;
  }

  /** Small objects (manifests, signatures, attestations): from the cache, else fetched, verified and cached. */
  private async fetchCached(target: Target, desc: Descriptor): Promise<Buffer> {
    const cached = await this.cache.read(desc);
    if (cached) return cached;
    const bytes = await target.fetch(desc);
    await writeVerified(Readable.from([bytes]), desc, this.cache.pathOf(desc), `${target.name} ${desc.digest}`);
    return bytes;
  }

  async readPart(reference: string, part: BundlePart): Promise<Buffer | undefined> {
    const ref = parseReference(reference);
    const target = this.target(ref);
    const { desc } = await this.resolveModel(target, ref);
    const found = await this.findPart(target, desc, part, formatReference(ref));
    return found?.bytes;
  }

  /** The one referrer of a part; several different ones are refused, since nothing says which is meant. */
  private async findPart(target: Target, subject: Descriptor, part: BundlePart, where: string): Promise<{ desc: Descriptor; bytes: Buffer } | undefined> {
    const spec = BUNDLE_REFERRERS[part];
    const found = await target.referrers(subject, spec.artifactType);
    const unique = [...new Map(found.map((d) => [d.digest, d])).values()];
    if (unique.length === 0) return undefined;
    if (unique.length > 1) {
      throw new NotAModelError(`${where}: ${unique.length} ${spec.title} referrers (${unique.map((d) => d.digest).join(', ')}); one is expected`);
    }
    if (unique[0]!.size > MAX_MANIFEST_BYTES) throw new NotAModelError(`${spec.title} referrer ${unique[0]!.digest} of ${where} is ${unique[0]!.size} bytes, too large for a manifest`);
    const referrerBytes = await this.fetchCached(target, { ...unique[0]!, mediaType: OCI_MANIFEST });
    const referrer = parseManifest(referrerBytes, `${spec.title} referrer ${unique[0]!.digest} of ${where}`);
    if (referrer.subject?.digest !== subject.digest) throw new NotAModelError(`${spec.title} referrer ${unique[0]!.digest} of ${where} has subject ${referrer.subject?.digest ?? '(none)'}`);
    const layer = referrer.layers[0];
    if (!layer || referrer.layers.length !== 1) throw new NotAModelError(`${spec.title} referrer ${unique[0]!.digest} of ${where} must have exactly one layer`);
    if (layer.size > MAX_PART_BYTES) throw new NotAModelError(`${spec.title} referrer ${unique[0]!.digest} of ${where} holds ${layer.size} bytes, more than ${MAX_PART_BYTES}`);
    return { desc: unique[0]!, bytes: await this.fetchCached(target, layer) };
  }

  /**
   * Writes each raw layer to `<modelDir>/<org.cncf.model.filepath>`, through the blob cache,
   * refusing paths that leave the folder. Every layer is checked before any is fetched; then a
   * few move at once (a single stream leaves the link idle while a file is written and hashed).
   */
  private async materializeLayers(target: Target, manifest: ImageManifest, modelDir: string, where: string, options: PullOptions): Promise<{ bytesFetched: number; bytesFromCache: number }> {
    const seen = new Set<string>();
    const jobs = manifest.layers.map((layer, i) => {
      const filePath = layer.annotations?.[ANNOTATION_FILEPATH] ?? layer.annotations?.[ANNOTATION_TITLE];
      if (!MODEL_LAYER_TYPES.has(layer.mediaType)) throw new NotAModelError(`${where}: layer ${i} is ${layer.mediaType}; modelship reads unarchived ModelPack layers (.raw) only`);
      if (!filePath) throw new NotAModelError(`${where}: layer ${i} (${layer.digest}) has no ${ANNOTATION_FILEPATH} annotation`);
      const problem = canonicalPathProblem(filePath);
      if (problem) throw new NotAModelError(`${where}: layer ${i} file path ${JSON.stringify(filePath)}: ${problem}`);
      if (seen.has(filePath)) throw new NotAModelError(`${where}: two layers write ${filePath}`);
      seen.add(filePath);
      return { layer, dest: join(modelDir, filePath) };
    });
    let bytesFetched = 0;
    let bytesFromCache = 0;
    let done = 0;
    const inFlight = new Map<number, number>();
    const transfer = (i: number): TransferOptions => ({
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (n) => {
        inFlight.set(i, n);
        options.onProgress?.(done + [...inFlight.values()].reduce((a, b) => a + b, 0));
      },
    });
    const one = async (i: number) => {
      const { layer, dest } = jobs[i]!;
      if (options.useCache === false) {
        // Straight into the folder: one write per byte, nothing kept for the next pull.
        await target.fetchToFile(layer, dest, transfer(i));
        bytesFetched += layer.size;
      } else {
        // A cached blob is re-hashed before use: one changed since (through a hard link, on disk)
        // is dropped and fetched again rather than handed on.
        const cached = await this.cache.verify(layer, options.signal);
        if (cached === 'verified') bytesFromCache += layer.size;
        else {
          if (cached === 'corrupt') this.logger?.warn({ digest: layer.digest, cache: this.cache.root }, 'cached blob no longer matches its digest: fetching it again');
          await target.fetchToFile(layer, this.cache.pathOf(layer), transfer(i));
          bytesFetched += layer.size;
        }
        // One write per byte: the bundle file shares the cache file's blocks (reflink) or inode (link).
        const mode = await this.cache.materialize(layer, dest);
        this.logger?.debug({ digest: layer.digest, path: dest, mode }, 'bundle file materialised from the blob cache');
      }
      inFlight.delete(i);
      done += layer.size;
    };
    let next = 0;
    // The first failure stops the taking of new layers, and is thrown only once every layer in
    // flight has settled: a caller that then removes the folder must not race a write into it.
    let failure: { readonly error: unknown } | undefined;
    const worker = async () => {
      for (let i = next++; i < jobs.length && !failure; i = next++) {
        try {
          await one(i);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_LAYERS, jobs.length) }, worker));
    if (failure) throw failure.error;
    return { bytesFetched, bytesFromCache };
  }

  async pullModel(reference: string, modelDir: string, options: PullOptions = {}): Promise<ModelPull> {
    const ref = parseReference(reference);
    const where = formatReference(ref);
    const target = this.target(ref);
    const { desc, manifest } = await this.resolveModel(target, ref);
    const present = await readdir(modelDir).catch(() => [] as string[]);
    if (present.length) throw new BundleConflictError(`${modelDir} is not empty: pull a model into an empty folder`);
    await mkdir(modelDir, { recursive: true });
    const moved = await this.materializeLayers(target, manifest, modelDir, where, options);
    return { reference: formatReference({ location: ref.location, ...(ref.tag ? { tag: ref.tag } : {}), digest: desc.digest }), manifest: desc, modelDir, ...moved };
  }

  async pullBundle(reference: string, dir: string, options: PullOptions & { readonly parts?: readonly BundlePart[] } = {}): Promise<PullResult> {
    const ref = parseReference(reference);
    const where = formatReference(ref);
    const target = this.target(ref);
    const { desc, manifest } = await this.resolveModel(target, ref);
    const paths = bundlePaths(dir);
    const present = await readdir(dir).catch(() => [] as string[]);
    const foreign = present.filter((name) => !['model', 'model.yaml', 'model.jws', 'attestations', '.release-id'].includes(name));
    if (foreign.length) throw new BundleConflictError(`${dir} holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}: pull into an empty folder or an earlier pull's`);
    await rm(paths.modelDir, { recursive: true, force: true });
    await mkdir(paths.modelDir, { recursive: true });

    const { bytesFetched, bytesFromCache } = await this.materializeLayers(target, manifest, paths.modelDir, where, options);

    const parts: Partial<Record<BundlePart, Descriptor>> = {};
    for (const part of options.parts ?? BUNDLE_PARTS) {
      const file = join(dir, PART_PATHS[part]);
      await rm(file, { force: true });
      const found = await this.findPart(target, desc, part, where);
      if (!found) continue;
      parts[part] = found.desc;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, found.bytes);
    }
    return { reference: formatReference({ location: ref.location, ...(ref.tag ? { tag: ref.tag } : {}), digest: desc.digest }), manifest: desc, parts, bundleDir: dir, bytesFetched, bytesFromCache };
  }
}
