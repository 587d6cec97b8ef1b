import { NativeConnection, Runtime } from '@temporalio/worker';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from './logger.js';
import { pinoSdkLogger } from './sdk-logger.js';
import { loadTemporalSettings } from './temporal-config.js';
import { createReleaseWorker } from './release-worker.js';
import { loadExporterRegistry } from './exporter/registry.js';
import { passphraseFromEnvironment } from './crypto/keys.js';
import { DATA_DIR } from './paths.js';
import { readFile } from 'node:fs/promises';
import { loadTrustDir, TRUST_POLICY_FILES } from './trust/trust-dir.js';
import { DEFAULT_KEYRING_FILE } from './trust/keyring.js';

/** The serving runtime this worker deploys to: MODELSHIP_SERVING_URL and the admin key (env or file). */
async function servingFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<{ serving?: { url: string; secret: string } }> {
  if (!env.MODELSHIP_SERVING_URL) return {};
  const secret = env.MODELSHIP_SERVING_ADMIN_KEY ?? (env.MODELSHIP_SERVING_ADMIN_KEY_FILE ? (await readFile(env.MODELSHIP_SERVING_ADMIN_KEY_FILE, 'utf8')).trim() : undefined);
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
  const loaded = await loadTrustDir(dir);
  if (!loaded) throw new Error(`MODELSHIP_TRUSTED_KEYS_DIR=${dir} holds no ${DEFAULT_KEYRING_FILE} and ${TRUST_POLICY_FILES[0]} (or cannot be read): put both there, or unset it to verify against each release's own keys`);
  if ('problem' in loaded) throw new Error(`MODELSHIP_TRUSTED_KEYS_DIR: ${loaded.problem}`);
  return { trustedKeysDir: resolve(dir) };
}

/**
 * The modelship worker: ReleaseWorkflow and its activities on one task queue. It stops
 * gracefully on SIGINT/SIGTERM (the SDK's default shutdown signals): no new tasks are taken,
 * running activities get their cancellation, then the connection is closed.
 */
export async function runWorker(): Promise<void> {
  const logger = createLogger('modelship-worker');
  Runtime.install({ logger: pinoSdkLogger(logger) });
  const settings = loadTemporalSettings();
  const bundlesRoot = process.env.MODELSHIP_BUNDLES_DIR ?? join(DATA_DIR, 'bundles');
  const hashWorkers = positiveInteger(process.env, 'MODELSHIP_HASH_THREADS');
  const heartbeatThrottleMs = positiveInteger(process.env, 'MODELSHIP_HEARTBEAT_THROTTLE_MS');
  const trust = await trustFromEnvironment();
  const connection = await NativeConnection.connect(settings.connectionOptions);
  try {
    const worker = await createReleaseWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      deps: {
        bundlesRoot,
        exporters: loadExporterRegistry(),
        passphrase: () => passphraseFromEnvironment(),
        ...(await servingFromEnvironment()),
        ...(hashWorkers ? { hashWorkers } : {}),
        ...trust,
      },
      ...(heartbeatThrottleMs ? { heartbeatThrottleMs } : {}),
    });
    logger.info(
      { address: settings.connectionOptions.address, namespace: settings.namespace, taskQueue: settings.taskQueue, bundlesRoot, smokeVerifiesWith: trust.trustedKeysDir ?? 'release-keys' },
      'worker started',
    );
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runWorker().catch((err: unknown) => {
    process.stderr.write(`modelship worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
