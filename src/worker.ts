import { NativeConnection, Runtime } from '@temporalio/worker';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from './logger.js';
import { adminCredentialsFromEnvironment, type AdminCredentialsSource } from './serving-client/admin-client.js';
import { pinoSdkLogger } from './sdk-logger.js';
import { loadTemporalSettings } from './temporal-config.js';
import { prepareEngineThread } from './sandbox/onnx-engine.js';
import { createReleaseWorker, defaultMaxConcurrentActivities, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from './release-worker.js';
import { deploymentFromEnvironment } from './versioning/config.js';
import { loadInstalledExporters } from './exporter/installed-exporters.js';
import { passphraseFromEnvironment } from './crypto/keys.js';
import { DATA_DIR } from './paths.js';
import { resolveTrust } from './trust/trust-source.js';
import type { Logger } from './logger.js';
import { resolveMetricsEndpoint, type MetricsEndpoint } from './metrics/config.js';
import { errorMessage, MetricsConfigError } from './errors/index.js';
import { coreMetricsTelemetry, freeLoopbackPort } from './metrics/core-telemetry.js';
import { startMetricsServer, type MetricsServer } from './metrics/metrics-server.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { configuredStore } from './store/config.js';
import { OciBundleStore } from './store/oci-bundle-store.js';
import type { WorkerBundleStore } from './activities/deps.js';
import { nativeMemoryBytesFromEnv } from './native/isolated-runtime.js';
import { startTracing } from './tracing/start.js';
import { codecFromEnvironment, describeKeyring } from './codec/config.js';
import { checkSearchAttributes } from './search-attribute-check.js';
import { releaseSearchAttributes } from './search-attributes.js';

/** The serving runtime this worker deploys to: MODELSHIP_SERVING_URL and the admin key (env or file). */
async function servingFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<{ serving?: { url: string; secret: AdminCredentialsSource } }> {
  if (!env.MODELSHIP_SERVING_URL) return {};
  const secret = await adminCredentialsFromEnvironment(env);
  if (!secret) throw new Error('MODELSHIP_SERVING_URL is set but no admin key: set MODELSHIP_SERVING_ADMIN_KEY_FILE or MODELSHIP_SERVING_ADMIN_KEY');
  return { serving: { url: env.MODELSHIP_SERVING_URL, secret } };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * The worker's trust folder for verifying bundles before smoke: MODELSHIP_TRUSTED_KEYS_DIR with
 * keyring.json and trust-policy.yaml. Checked once here so a broken setup stops the worker at
 * start; the smoke stage reads it again for every release, so rotations need no restart.
 */
async function trustFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<{ trustedKeysDir?: string }> {
  const dir = env.MODELSHIP_TRUSTED_KEYS_DIR;
  if (!dir) return {};
  await resolveTrust({ kind: 'worker-trust-dir', dir }); // the smoke stage's own resolution: throws TrustPolicyError naming the problem
  return { trustedKeysDir: resolve(dir) };
}

/**
 * The worker's bundle store: MODELSHIP_STORE (a registry namespace, or oci-layout:<dir>; by default
 * an OCI layout folder under MODELSHIP_HOME, for one machine), its blob cache and working folders
 * on this host. Registry credentials come from the environment or a Docker config.json when a
 * request needs them; they never reach a workflow.
 */
function storeFromEnvironment(logger: Logger, env: NodeJS.ProcessEnv = process.env): { store: WorkerBundleStore } {
  return { store: { location: configuredStore(env), bundles: new OciBundleStore({ logger }), workRoot: join(env.MODELSHIP_HOME ?? DATA_DIR, 'work') } };
}

export interface RunWorkerOptions {
  /** Serve metrics here; default from MODELSHIP_WORKER_METRICS_PORT / _HOST, none without a port. */
  readonly metrics?: MetricsEndpoint;
}

/**
 * Installs the Temporal runtime (once per process: Core's telemetry is fixed at install) and,
 * with an endpoint, starts serving modelship's metrics together with Core's.
 */
async function installRuntime(logger: Logger, endpoint: MetricsEndpoint | undefined): Promise<{ metrics?: WorkerMetrics; server?: MetricsServer }> {
  if (!endpoint) {
    Runtime.install({ logger: pinoSdkLogger(logger) });
    return {};
  }
  const { telemetry, coreMetricsUrl } = coreMetricsTelemetry(await freeLoopbackPort());
  Runtime.install({ logger: pinoSdkLogger(logger), telemetryOptions: telemetry });
  const metrics = new WorkerMetrics();
  const server = await startMetricsServer({ metrics, host: endpoint.host, port: endpoint.port, coreMetricsUrl, logger }).catch((err: unknown) => {
    throw new MetricsConfigError(`cannot serve metrics on ${endpoint.host}:${endpoint.port}: ${errorMessage(err)}`, { cause: err });
  });
  logger.info({ metricsUrl: `${server.url}/metrics` }, 'serving metrics');
  return { metrics, server };
}

/**
 * The modelship worker: ReleaseWorkflow and its activities on one task queue. It stops
 * gracefully on SIGINT/SIGTERM (the SDK's default shutdown signals): no new tasks are taken,
 * running activities get their cancellation, then the connection is closed.
 */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const logger = createLogger('modelship-worker');
  const { metrics, server } = await installRuntime(logger, options.metrics ?? resolveMetricsEndpoint());
  const tracing = await startTracing('modelship-worker');
  if (tracing) logger.info({ endpoint: tracing.config.endpoint, protocol: tracing.config.protocol }, 'exporting traces over OTLP');
  try {
    const settings = loadTemporalSettings();
    const bundlesRoot = process.env.MODELSHIP_BUNDLES_DIR ?? join(DATA_DIR, 'bundles');
    const hashWorkers = positiveInteger(process.env, 'MODELSHIP_HASH_THREADS');
    const heartbeatThrottleMs = positiveInteger(process.env, 'MODELSHIP_HEARTBEAT_THROTTLE_MS');
    const maxConcurrentActivities = positiveInteger(process.env, 'MODELSHIP_MAX_CONCURRENT_ACTIVITIES');
    const trust = await trustFromEnvironment();
    // Payload encryption keys (ids logged, never bytes); none configured: payloads as before.
    const { codec, keyring } = await codecFromEnvironment();
    // Tracing adds its interceptors to the workflow bundle, so it is part of the build id.
    const deployment = deploymentFromEnvironment([WORKFLOWS_PATH, ...WORKFLOW_INTERCEPTOR_MODULES], tracing ? ['tracing'] : []);
    const connection = await NativeConnection.connect(settings.connectionOptions);
    try {
      // A namespace without modelship's search attributes (a cluster where setup-namespace has not run) would hang every release.
      const unchecked = await checkSearchAttributes(connection.workflowService, settings.namespace, releaseSearchAttributes.map((k) => k.name));
      if (unchecked) logger.warn({ namespace: settings.namespace, err: errorMessage(unchecked) }, 'could not check the namespace\'s search attributes; releases fail if any is missing (modelship setup-namespace registers them)');
      const worker = await createReleaseWorker({
        connection,
        namespace: settings.namespace,
        taskQueue: settings.taskQueue,
        deps: {
          bundlesRoot,
          exporters: loadInstalledExporters(),
          passphrase: () => passphraseFromEnvironment(),
          ...(await servingFromEnvironment()),
          ...(hashWorkers ? { hashWorkers } : {}),
          ...(process.env.MODELSHIP_DIGEST_CACHE ? { digestCachePath: resolve(process.env.MODELSHIP_DIGEST_CACHE) } : {}),
          nativeMemoryBytes: nativeMemoryBytesFromEnv(),
          ...trust,
          ...storeFromEnvironment(logger),
          ...(process.env.MODELSHIP_SIGNING_KEYS_DIR ? { signingKeysDir: resolve(process.env.MODELSHIP_SIGNING_KEYS_DIR) } : {}),
        },
        ...(metrics ? { metrics } : {}),
        ...(heartbeatThrottleMs ? { heartbeatThrottleMs } : {}),
        ...(maxConcurrentActivities ? { maxConcurrentActivities } : {}),
        ...(tracing ? { plugins: [tracing.temporalPlugin()] } : {}),
        payloadCodec: codec,
        ...(deployment ? { deployment: deployment.version } : {}),
      });
      logger.info(
        { address: settings.connectionOptions.address, namespace: settings.namespace, taskQueue: settings.taskQueue, maxConcurrentActivities: maxConcurrentActivities ?? defaultMaxConcurrentActivities(), bundlesRoot, store: configuredStore(), smokeVerifiesWith: trust.trustedKeysDir ?? 'release-keys', ...describeKeyring(keyring), ...(deployment ? { deployment: deployment.version.deploymentName, buildId: deployment.version.buildId, buildIdFrom: deployment.buildIdFrom } : { versioning: 'off' }) },
        'worker started',
      );
      // The first smoke call takes a prepared engine instance, as later ones do; a broken engine
      // is reported by that call (smoke names it), so a failure here is only logged.
      void prepareEngineThread().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not prepare the sandbox engine; the first smoke call will report why'));
      await worker.run();
      logger.info('worker stopped');
    } finally {
      await connection.close();
    }
  } finally {
    const problem = await tracing?.shutdown();
    if (problem) logger.warn(problem);
    await server?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runWorker().catch((err: unknown) => {
    process.stderr.write(`modelship worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
