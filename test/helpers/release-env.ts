// A real release environment for integration tests: a dev server started by temporal/start.sh,
// a modelship worker in this process, an encrypted signing key, and a client.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { PayloadCodec, WorkerDeploymentVersion } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { createReleaseWorker, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../src/release-worker.js';
import type { WorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { builtInExporters, type InstalledExporters } from '../../src/exporter/installed-exporters.js';
import { generateKeyFiles, type GeneratedKeyFiles } from '../../src/crypto/keys.js';
import { releaseStartOptions } from '../../src/release/start-metadata.js';
import type { ReleaseRequest, ReleaseResult } from '../../src/release/types.js';
import { RELEASE_WORKFLOW_TYPE } from '../../src/workflow-definitions.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { OciBundleStore } from '../../src/store/oci-bundle-store.js';
import { BlobCache } from '../../src/store/blob-cache.js';
import { bundleReferenceFor } from '../../src/store/config.js';

export const TEST_PASSPHRASE = `test-passphrase-${randomBytes(6).toString('hex')}`;

let sharedBundle: Promise<WorkflowBundle> | undefined;
/** Bundling takes seconds; every worker in a test process shares one bundle. */
export function workflowBundle(): Promise<WorkflowBundle> {
  sharedBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quietLogger });
  return sharedBundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export interface ReleaseEnv {
  readonly server: DevServer;
  readonly client: Client;
  readonly taskQueue: string;
  readonly dir: string;
  readonly bundlesRoot: string;
  readonly key: GeneratedKeyFiles;
  request(overrides: Partial<ReleaseRequest> & Pick<ReleaseRequest, 'source'>): ReleaseRequest;
  start(request: ReleaseRequest): Promise<WorkflowHandleWithFirstExecutionRunId>;
  release(request: ReleaseRequest): Promise<ReleaseResult>;
  /** The released bundle as a folder: pulled from the store by the result's reference (every digest checked). */
  bundleDirOf(result: ReleaseResult): Promise<string>;
  /** A release's bundle as the store holds it by its tag (also for a release that failed after export). */
  pullRelease(name: string, version: string): Promise<string>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;
/** Worker state chatter would drown the test report; warnings and errors still show. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger((process.env.MODELSHIP_TEST_SDK_LOG as 'WARN' | undefined) ?? 'ERROR') });
}

export async function startReleaseEnv(
  options: {
    server?: DevServer;
    exporters?: InstalledExporters;
    serving?: { url: string; secret: string };
    /** The worker's MODELSHIP_TRUSTED_KEYS_DIR (read at every smoke run, so it may be filled after start). */
    trustedKeysDir?: string;
    metrics?: WorkerMetrics;
    /** The worker's MODELSHIP_DIGEST_CACHE. */
    digestCachePath?: string;
    /** The worker's MODELSHIP_STORE (a registry namespace); default an OCI layout folder in the env's folder. */
    storeLocation?: string;
    /** The worker's MODELSHIP_NATIVE_MEMORY_MIB, in bytes. */
    nativeMemoryBytes?: number;
    /** Payload codec for the worker and the env's client (src/codec). */
    payloadCodec?: PayloadCodec;
    /** The worker joins this Worker Deployment version (a versioned worker gets tasks once its version is current or ramping). */
    deployment?: WorkerDeploymentVersion;
    /** Another env's task queue, for a second worker beside it; default a fresh one. */
    taskQueue?: string;
  } = {},
): Promise<ReleaseEnv> {
  installQuietRuntime();
  const server = options.server ?? (await startDevServer());
  const dir = await mkdtemp(join(tmpdir(), 'modelship-test-'));
  const bundlesRoot = join(dir, 'bundles');
  const key = await generateKeyFiles(join(dir, 'keys'), 'release', TEST_PASSPHRASE);
  const taskQueue = options.taskQueue ?? `modelship-test-${randomBytes(4).toString('hex')}`;
  const store = new OciBundleStore({ cache: new BlobCache(join(dir, 'blobs')) });
  const storeLocation = options.storeLocation ?? `oci-layout:${join(dir, 'oci')}`;

  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker: Worker = await createReleaseWorker({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    deps: {
      bundlesRoot,
      exporters: { ...builtInExporters(), ...options.exporters },
      passphrase: async () => TEST_PASSPHRASE,
      ...(options.serving ? { serving: options.serving } : {}),
      ...(options.trustedKeysDir ? { trustedKeysDir: options.trustedKeysDir } : {}),
      ...(options.digestCachePath ? { digestCachePath: options.digestCachePath } : {}),
      // The single-machine default: an OCI layout folder, this worker's own blob cache.
      store: { location: storeLocation, bundles: store, workRoot: join(dir, 'work') },
      ...(options.nativeMemoryBytes ? { nativeMemoryBytes: options.nativeMemoryBytes } : {}),
    },
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.payloadCodec ? { payloadCodec: options.payloadCodec } : {}),
    ...(options.deployment ? { deployment: options.deployment } : {}),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace, ...(options.payloadCodec ? { dataConverter: { payloadCodecs: [options.payloadCodec] } } : {}) });
  let counter = 0;
  const pullInto = async (reference: string, name: string, version: string) =>
    (await store.pullBundle(reference, join(dir, 'pulled', `${name}-${version}-${randomBytes(3).toString('hex')}`))).bundleDir;

  const env: ReleaseEnv = {
    server,
    client,
    taskQueue,
    dir,
    bundlesRoot,
    key,
    request: (overrides) => ({
      name: 'sample-mlp',
      version: `1.0.${counter++}-${randomBytes(3).toString('hex')}`,
      signingKeyPath: key.privateKeyPath,
      requestedBy: 'test',
      ...overrides,
    }),
    // The same start options as the CLI: static summary and details, search attributes.
    start: (request) => client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, ...releaseStartOptions(request) }),
    release: async (request) => (await env.start(request)).result() as Promise<ReleaseResult>,
    bundleDirOf: async (result) => (result.reference ? pullInto(result.reference, result.name, result.version) : result.bundleDir),
    pullRelease: (name, version) => pullInto(bundleReferenceFor(storeLocation, name, version), name, version),
    stop: async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      if (!options.server) await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return env;
}
