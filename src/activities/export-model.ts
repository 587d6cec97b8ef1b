import { Context } from '@temporalio/activity';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { BundleConflictError, ExporterError, ModelSourceError, errorMessage } from '../errors/index.js';
import { bundleDirFor, bundlePaths, BUNDLE_MODEL_DIR } from '../bundle/layout.js';
import { MANIFEST_API_VERSION, completeManifest, serializeManifest, type Manifest, type ManifestDraft } from '../bundle/manifest.js';
import { hashFilesInParallel } from '../hashing/parallel-hash.js';
import { listModelFiles, type ListedFile } from '../hashing/list-files.js';
import { rootDigest } from '../hashing/root-digest.js';
import { sha256File } from '../hashing/stream-hash.js';
import { inspectOnnxModel } from '../native/inspect-model.js';
import { runExporter } from '../exporter/run-exporter.js';
import type { ExportedFile, ExportResult, InStore, ReleaseRequest, SourceRef } from '../release/types.js';
import { CURRENT_DIGEST_RULE } from '../hashing/digest-rule.js';
import { copySourceFiles } from '../bundle/copy-source.js';
import { openDigestCache } from './digest-cache.js';
import type { DigestCache } from '../hashing/digest-cache.js';
import type { ActivityDeps } from './deps.js';
import { throttledHeartbeat } from './heartbeat.js';
import { requireStore, seedBlobCache } from './bundle-checkout.js';
import { bundleReferenceFor } from '../store/config.js';
import type { StoredBundle } from '../store/bundle-store.js';

export interface ExportInput {
  readonly releaseId: string;
  readonly request: ReleaseRequest;
  /** The workflow's start time, so a retried export writes the same manifest. */
  readonly createdAt: string;
}

/**
 * Turns the release's source into a bundle folder holding model/ and a draft model.yaml.
 * Works in a staging folder and renames it into place at the end, so a crash or retry never
 * leaves a half-written bundle; a bundle written by another release is never touched.
 */
export async function exportModel(deps: ActivityDeps, input: ExportInput): Promise<InStore<ExportResult>> {
  const { request } = input;
  const ctx = Context.current();
  const bundleDir = bundleDirFor(deps.bundlesRoot, request.name, request.version);
  const paths = bundlePaths(bundleDir);
  await assertBundleIsOursOrAbsent(paths.owner, bundleDir, input.releaseId);

  const staging = join(deps.bundlesRoot, '.staging', `${input.releaseId}-${randomBytes(4).toString('hex')}`);
  const stagingModel = join(staging, BUNDLE_MODEL_DIR);
  await mkdir(stagingModel, { recursive: true });
  try {
    const heartbeat = throttledHeartbeat();
    const cache = deps.digestCachePath ? await openDigestCache(deps.digestCachePath) : undefined;
    const { source, known, hashing } = await materialize(deps, request, stagingModel, heartbeat, cache);
    await cache?.save();
    const knownByPath = new Map((known ?? []).map((f) => [f.path, f]));
    const files: ExportedFile[] = (await listModelFiles(stagingModel)).map((f) => knownByPath.get(f.path) ?? f);
    const onnxFiles = files.filter((f) => f.path.endsWith('.onnx'));
    if (onnxFiles.length !== 1) {
      throw new ModelSourceError(
        `${describeSource(request)} must hold exactly one .onnx model, found ${onnxFiles.length}${onnxFiles.length ? `: ${onnxFiles.map((f) => f.path).join(', ')}` : ''}`,
      );
    }
    const modelFile = onnxFiles[0]!.path;
    heartbeat({ step: 'inspect', modelFile }, true);
    // onnxruntime loads the model in a child process; a large one takes longer than a heartbeat timeout.
    const beat = setInterval(() => heartbeat({ step: 'inspect', modelFile }, true), 5_000);
    // External data must name files of the model folder being released (the listing above), so
    // the native check never reads a file of the worker's own.
    const folder = { dir: stagingModel, modelFile, files: files.map(({ path, size }) => ({ path, size })) };
    const info = await inspectOnnxModel(join(stagingModel, modelFile), deps.nativeMemoryBytes ? { memoryBytes: deps.nativeMemoryBytes } : {}, ctx.cancellationSignal, folder).finally(() =>
      clearInterval(beat),
    );
    ctx.log.info('model inspected', { modelFile, opsets: info.opsets, inputs: info.inputs.length, outputs: info.outputs.length });

    const draft: ManifestDraft = {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'ModelManifest',
      name: request.name,
      version: request.version,
      releaseId: input.releaseId,
      createdAt: input.createdAt,
      framework: { format: info.format, irVersion: info.irVersion, opsets: info.opsets, producer: info.producer },
      modelFile,
      signature: { inputs: info.inputs, outputs: info.outputs },
      source,
      files: files.map(({ path, size }) => ({ path, size })),
    };
    // Through the store, export hands on a complete bundle (digests computed on the copy, the
    // manifest completed): nothing of it stays only on this host once the stage ends.
    await writeFile(join(staging, 'model.yaml'), serializeManifest(await completeDraft(draft, stagingModel, files, heartbeat)));
    await writeFile(join(staging, basename(paths.owner)), input.releaseId);

    // Our own earlier attempt may have finished the rename before crashing: replace it.
    await rm(bundleDir, { recursive: true, force: true });
    await mkdir(dirname(bundleDir), { recursive: true });
    await rename(staging, bundleDir);
    const bundle = await publish(deps, bundleDir, request, heartbeat);
    return { bundleDir, modelFile, files, model: info, source, ...(hashing ? { sourceHashing: hashing } : {}), bundle };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The draft with every file's digest under the current rule: export's own (copied sources) or hashed now (exporter output). */
async function completeDraft(draft: ManifestDraft, modelDir: string, files: readonly ExportedFile[], heartbeat: (details: unknown, force?: boolean) => void): Promise<Manifest> {
  const rule = CURRENT_DIGEST_RULE;
  const known = new Map(files.flatMap((f) => (f.sha256 ? [[f.path, { path: f.path, size: f.size, sha256: f.sha256 }] as const] : [])));
  const missing = files.filter((f) => !known.has(f.path));
  if (missing.length) {
    heartbeat({ step: 'hash-export' }, true);
    for (const hashed of await hashFilesInParallel(modelDir, missing, { rule, signal: Context.current().cancellationSignal, onBytes: () => heartbeat({ step: 'hash-export' }) })) known.set(hashed.path, hashed);
  }
  const digests = files.map((f) => known.get(f.path)!);
  return completeManifest(draft, digests, rootDigest(digests), rule);
}

/**
 * Pushes the model files and model.yaml to the store: blobs the store already holds
 * (an earlier attempt's, from any host) are skipped, so a retry uploads only what is missing.
 */
async function publish(deps: ActivityDeps, bundleDir: string, request: ReleaseRequest, heartbeat: (details: unknown, force?: boolean) => void): Promise<StoredBundle> {
  const store = requireStore(deps);
  const ctx = Context.current();
  const bundle = await store.bundles.pushBundle(bundleDir, bundleReferenceFor(store.location, request.name, request.version), {
    signal: ctx.cancellationSignal,
    onProgress: (bytes) => heartbeat({ step: 'push', bytes }),
  });
  await seedBlobCache(store, bundle, bundleDir, ctx.cancellationSignal);
  ctx.log.info('bundle pushed', { reference: bundle.reference });
  return bundle;
}

async function assertBundleIsOursOrAbsent(ownerFile: string, bundleDir: string, releaseId: string): Promise<void> {
  let owner: string;
  try {
    owner = (await readFile(ownerFile, 'utf8')).trim();
  } catch {
    try {
      await stat(bundleDir);
    } catch {
      return;
    }
    throw new BundleConflictError(`${bundleDir} exists and was not written by a modelship release; move it away first`);
  }
  if (owner !== releaseId) throw new BundleConflictError(`${bundleDir} belongs to release ${owner}, not ${releaseId}`);
}

function describeSource(request: ReleaseRequest): string {
  return request.source.kind === 'onnx' ? request.source.path : `the output of exporter ${request.source.exporter}`;
}

async function materialize(
  deps: ActivityDeps,
  request: ReleaseRequest,
  stagingModel: string,
  heartbeat: (details: unknown, force?: boolean) => void,
  cache: DigestCache | undefined,
): Promise<{ source: SourceRef; known?: readonly ExportedFile[]; hashing?: ExportResult['sourceHashing'] }> {
  const source = request.source;
  const ctx = Context.current();
  const artifacts = await import('../store/model-source.js');
  if (source.kind === 'onnx' && artifacts.isArtifactSource(source.path)) {
    // A ModelPack artifact: its files are pulled (digests checked) and exported as a model folder.
    const pulled = await artifacts.pullModelSource(source.path, { signal: ctx.cancellationSignal, onProgress: (bytes) => heartbeat({ step: 'pull-source', bytes }) });
    try {
      const done = await materialize(deps, { ...request, source: { ...source, path: pulled.modelDir } }, stagingModel, heartbeat, cache);
      return { ...done, source: { uri: pulled.reference, sha256: done.source.sha256 } };
    } finally {
      await pulled.cleanup();
    }
  }
  if (source.kind === 'onnx') {
    const path = resolve(source.path);
    const kind = await statSource(path);
    const root = kind === 'file' ? dirname(path) : path;
    const files = kind === 'file' ? [{ path: basename(path), size: (await stat(path)).size }] : await listModelFilesOrFail(path, source.allowSymlinks ?? false);
    const copied = await copySourceFiles(root, files, stagingModel, {
      rule: CURRENT_DIGEST_RULE,
      cache,
      signal: ctx.cancellationSignal,
      onProgress: (step) => heartbeat({ step }),
    });
    const digest = kind === 'file' ? copied.files[0]!.sha256 : rootDigest(copied.files);
    ctx.log.info('source copied', { files: files.length, bytesHashed: copied.bytesHashed, bytesFromCache: copied.bytesFromCache });
    return {
      source: { uri: pathToFileURL(path).href + (kind === 'file' ? '' : '/'), sha256: digest },
      known: copied.known,
      hashing: { bytesHashed: copied.bytesHashed, bytesFromCache: copied.bytesFromCache },
    };
  }

  const spec = deps.exporters[source.exporter];
  if (!spec) {
    throw new ExporterError(`unknown exporter ${JSON.stringify(source.exporter)}; this worker has: ${Object.keys(deps.exporters).join(', ') || 'none'}`);
  }
  const input = resolve(source.input);
  if ((await statSource(input)) !== 'file') throw new ModelSourceError(`exporter input ${input} must be a file`);
  const output = join(stagingModel, 'model.onnx');
  ctx.log.info('running exporter', { exporter: source.exporter, input });
  await runExporter({
    name: source.exporter,
    spec,
    input,
    output,
    outputDir: stagingModel,
    ...(source.timeoutSeconds !== undefined ? { timeoutSeconds: source.timeoutSeconds } : {}),
    signal: ctx.cancellationSignal,
    onLine: (stream, line) => ctx.log.info(`exporter ${stream}: ${line}`, { exporter: source.exporter }),
    onTick: (elapsedMs) => heartbeat({ step: 'exporter', exporter: source.exporter, elapsedMs }, true),
  });
  try {
    await stat(output);
  } catch {
    throw new ExporterError(`exporter ${source.exporter} finished without writing ${basename(output)}`);
  }
  const { sha256 } = await sha256File(input, { signal: ctx.cancellationSignal });
  return { source: { uri: pathToFileURL(input).href, sha256 } };
}

async function statSource(path: string): Promise<'file' | 'directory'> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw new ModelSourceError(`cannot read the model source ${path}: ${errorMessage(err)}`);
  }
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  throw new ModelSourceError(`${path} is neither a file nor a directory`);
}

async function listModelFilesOrFail(dir: string, allowSymlinks: boolean): Promise<ListedFile[]> {
  try {
    return await listModelFiles(dir, undefined, { allowSymlinks });
  } catch (err) {
    throw new ModelSourceError(errorMessage(err));
  }
}
