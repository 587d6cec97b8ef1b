import { NativeConnection, Runtime } from '@temporalio/worker';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from './logger.js';
import { pinoSdkLogger } from './sdk-logger.js';
import { loadTemporalSettings } from './temporal-config.js';
import { createReleaseWorker } from './release-worker.js';
import { loadExporterRegistry } from './exporter/registry.js';
import { passphraseFromEnvironment } from './crypto/keys.js';
import { DATA_DIR } from './paths.js';

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
  const connection = await NativeConnection.connect(settings.connectionOptions);
  try {
    const worker = await createReleaseWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      deps: { bundlesRoot, exporters: loadExporterRegistry(), passphrase: () => passphraseFromEnvironment() },
    });
    logger.info({ address: settings.connectionOptions.address, namespace: settings.namespace, taskQueue: settings.taskQueue, bundlesRoot }, 'worker started');
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
