import type { AdminCredentialsSource } from '../serving-client/admin-client.js';
import type { InstalledExporters } from '../exporter/installed-exporters.js';
import type { OciBundleStore } from '../store/oci-bundle-store.js';

/** What activities report to the worker's metrics (src/metrics/worker-metrics.ts). */
export interface ActivityMetrics {
  bytesHashed(bytes: number): void;
}

/** The bundle store this worker pushes to and pulls from, with its own working folder. */
export interface WorkerBundleStore {
  /** MODELSHIP_STORE as configured (a registry namespace or an oci-layout folder): where releases are pushed. */
  readonly location: string;
  /** The bundle store over the location's Target, with this host's blob cache. */
  readonly bundles: OciBundleStore;
  /** Per-activity working folders of pulled bundles (this host's disk; removed after each stage). */
  readonly workRoot: string;
}

/** What the activities need from the worker that hosts them. */
export interface ActivityDeps {
  /** Bundles are written to <bundlesRoot>/<name>/<version>. */
  readonly bundlesRoot: string;
  readonly exporters: InstalledExporters;
  /** Where the signing key passphrase comes from; the worker's environment by default. */
  readonly passphrase: () => Promise<string>;
  /**
   * The serving runtime this worker deploys to; none means releases end after smoke. The admin
   * key is a fixed secret or a source read for each request (a key file a rotation replaces).
   */
  readonly serving?: { readonly url: string; readonly secret: string | AdminCredentialsSource };
  /** Threads for the hash stage (MODELSHIP_HASH_THREADS; default: the cores available). */
  readonly hashWorkers?: number;
  /**
   * The opt-in digest cache (MODELSHIP_DIGEST_CACHE): export takes unchanged source files' digests
   * from it, and the hash stage reuses export's digests for untouched copies.
   */
  readonly digestCachePath?: string;
  /**
   * The worker's trust folder (MODELSHIP_TRUSTED_KEYS_DIR: keyring.json and trust-policy.yaml),
   * read again for every smoke run. Without one, smoke verifies bundles against the release's own
   * signing keys.
   */
  readonly trustedKeysDir?: string;
  /** Releases started with the bundle store exchange references through it (every worker has one). */
  readonly store?: WorkerBundleStore;
  /** MODELSHIP_SIGNING_KEYS_DIR: where a release that names its key as `kid:<kid>` finds it on this worker. */
  readonly signingKeysDir?: string;
  /**
   * The memory ceiling of onnxruntime's child process (export's load check, smoke's reference run):
   * MODELSHIP_NATIVE_MEMORY_MIB, default 8 GiB.
   */
  readonly nativeMemoryBytes?: number;
  /** The worker's metrics; none when it serves none. */
  readonly metrics?: ActivityMetrics;
}
