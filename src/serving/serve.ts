import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { BundleStore } from '../store/bundle-store.js';
import { OciBundleStore } from '../store/oci-bundle-store.js';
import { BlobCache } from '../store/blob-cache.js';
import { createLogger, type Logger } from '../logger.js';
import { errorMessage } from '../errors/index.js';
import { AdminAuthenticator } from './protocol/admin/auth.js';
import type { AdminCredentials } from '../serving-client/admin-key-file.js';
import { AdminKeyring } from './protocol/admin/keyring.js';
import { checkAdminSecret, DEFAULT_LIMITS, resolveServeOptions, type ServingLimits } from './config.js';
import { InferenceService } from './dataplane/inference.js';
import { ServingMetrics } from './metrics.js';
import { ModelCatalog } from './control/model-catalog.js';
import { createRequestHandler } from './http/request-handler.js';
import { protocolMounts } from './protocol/index.js';
import { HttpServer } from './http/server.js';
import { tracedRequestHandler } from './http/request-tracing.js';
import { startTracing } from '../tracing/start.js';
import { lockStateDir, StateStore } from './control/state-store.js';

export interface ServingRuntimeConfig {
  readonly host: string;
  /** 0 picks a free port; the bound URL is returned. */
  readonly port: number;
  /** Holds serving-state.json (which bundle is in which slot, weights, shadow, previousStable) and a lock. */
  readonly stateDir: string;
  /** `*.pub.pem` / `*.pub.jwk.json`: the keys a bundle's JWS must verify with. */
  readonly trustedKeysDir: string;
  /** HMAC key of the admin API (key id `default`). Never logged, never in a response. */
  readonly adminSecret?: string;
  /** A fixed admin key with its id (what `modelship serve` reads from --admin-key-file). */
  readonly adminKey?: AdminCredentials;
  /** `<kid>.key` files, read again for each admin request: keys are added and retired without a restart. */
  readonly adminKeysDir?: string;
  readonly logger?: Logger;
  readonly limits?: Partial<ServingLimits>;
  /**
   * Pulls deploys by reference (from the OCI registry or OCI layout folder the reference names) into
   * `<stateDir>/bundles`; default: a store with its blob cache in `<stateDir>/blobs`.
   */
  readonly bundles?: BundleStore;
}

export interface ServingRuntime {
  readonly url: string;
  /** Stops accepting, lets running requests and shadow runs finish, releases every session, flushes the state, unlocks the state dir. */
  close(): Promise<void>;
}

/**
 * Starts the serving runtime: locks the state dir, restores (and re-verifies) the recorded
 * slots, then listens. Resolves once it accepts requests.
 */
export async function startServingRuntime(config: ServingRuntimeConfig): Promise<ServingRuntime> {
  const logger = config.logger ?? createLogger('serving');
  const limits: ServingLimits = { ...DEFAULT_LIMITS, ...config.limits };
  const fixedKey = config.adminKey ?? (config.adminSecret !== undefined || !config.adminKeysDir ? { secret: checkAdminSecret(config.adminSecret) } : undefined);
  const keyring = new AdminKeyring(fixedKey, config.adminKeysDir, logger);
  const auth = new AdminAuthenticator({});
  const unlock = await lockStateDir(config.stateDir);
  const store = new StateStore(config.stateDir);
  const metrics = new ServingMetrics();
  const catalog = new ModelCatalog({
    store,
    trustedKeysDir: config.trustedKeysDir,
    bundles: { store: config.bundles ?? new OciBundleStore({ cache: new BlobCache(join(config.stateDir, 'blobs')), logger }), pullRoot: join(config.stateDir, 'bundles') },
    metrics,
    logger,
    observationsCapacity: limits.observationsCapacity,
    session: { intraOpNumThreads: limits.sessionThreads },
  });
  const inference = new InferenceService(catalog, metrics, logger, limits.maxShadowInFlight);
  const server = new HttpServer(tracedRequestHandler(createRequestHandler(protocolMounts({ catalog, inference, auth, keyring, metrics, logger, limits }), logger)));
  let url: string;
  try {
    await catalog.restore(await store.load());
    url = await server.listen(config.host, config.port);
  } catch (err) {
    await catalog.close().catch(() => undefined);
    await unlock();
    throw err;
  }
  logger.info({ url, stateDir: config.stateDir, trustedKeysDir: config.trustedKeysDir, adminKeysDir: config.adminKeysDir, models: catalog.statusAll().map((m) => m.name) }, 'serving runtime listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      await inference.drain();
      await catalog.close();
      await store.flush();
      await unlock();
      logger.info({ url }, 'serving runtime stopped');
    })());
  return { url, close };
}

/**
 * `modelship serve`: flags/env as in `resolveServeOptions` (port 8300, state dir
 * .modelship/serving, trusted keys .modelship/keys); runs until SIGINT/SIGTERM, then closes
 * gracefully. Resolves with the runtime once it listens.
 */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<ServingRuntime> {
  const logger = createLogger('serving');
  const options = await resolveServeOptions(argv, env);
  const tracing = await startTracing('modelship-serving', env);
  if (tracing) logger.info({ endpoint: tracing.config.endpoint, protocol: tracing.config.protocol }, 'exporting traces over OTLP');
  const started = await startServingRuntime({ ...options, logger });
  // Closing also flushes the spans still buffered.
  const flush = async () => {
    const problem = await tracing?.shutdown();
    if (problem) logger.warn(problem);
  };
  const runtime: ServingRuntime = tracing ? { url: started.url, close: () => started.close().finally(flush) } : started;
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    runtime.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return runtime;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    createLogger('serving').fatal({ err: errorMessage(err) }, 'cannot start the serving runtime');
    process.exitCode = 1;
  });
}
