import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_DIR } from '../paths.js';
import { ServingConfigError, errorMessage } from '../errors/index.js';
import { MIN_ADMIN_SECRET_LENGTH, parseAdminKey, readAdminKey, type AdminCredentials } from '../serving-client/admin-key-file.js';

export { MIN_ADMIN_SECRET_LENGTH } from '../serving-client/admin-key-file.js';

export const DEFAULT_SERVING_PORT = 8300;
export const DEFAULT_SERVING_HOST = '127.0.0.1';
export const DEFAULT_STATE_DIR = join(DATA_DIR, 'serving');
export const DEFAULT_TRUSTED_KEYS_DIR = join(DATA_DIR, 'keys');
/** Inference bodies above this are answered 413. */
export const DEFAULT_MAX_INFER_BODY_BYTES = 8 * 1024 * 1024;
/** Admin bodies are tiny JSON objects. */
export const DEFAULT_MAX_ADMIN_BODY_BYTES = 64 * 1024;
/** Per model: request observations and shadow comparisons kept for `observations?since=`. */
export const DEFAULT_OBSERVATIONS_CAPACITY = 100_000;
/** Shadow runs in flight at once (all models); beyond this a shadow run is skipped and counted. */
export const DEFAULT_MAX_SHADOW_IN_FLIGHT = 32;

/** Tuning knobs; every one has a default. */
export interface ServingLimits {
  readonly maxInferBodyBytes: number;
  readonly maxAdminBodyBytes: number;
  readonly observationsCapacity: number;
  readonly maxShadowInFlight: number;
  /** onnxruntime intra-op threads per session (unset: onnxruntime's default). */
  readonly sessionThreads: number | undefined;
}

export const DEFAULT_LIMITS: ServingLimits = {
  maxInferBodyBytes: DEFAULT_MAX_INFER_BODY_BYTES,
  maxAdminBodyBytes: DEFAULT_MAX_ADMIN_BODY_BYTES,
  observationsCapacity: DEFAULT_OBSERVATIONS_CAPACITY,
  maxShadowInFlight: DEFAULT_MAX_SHADOW_IN_FLIGHT,
  sessionThreads: undefined,
};

/** Checks the admin secret is long enough. It is never logged or echoed; callers must not either. */
export function checkAdminSecret(secret: string | undefined): string {
  if (!secret) throw new ServingConfigError('no admin secret: set MODELSHIP_SERVING_ADMIN_KEY, or name a file with --admin-key-file / MODELSHIP_SERVING_ADMIN_KEY_FILE, or a folder of keys with --admin-keys-dir');
  if (secret.length < MIN_ADMIN_SECRET_LENGTH) throw new ServingConfigError(`the admin secret must have at least ${MIN_ADMIN_SECRET_LENGTH} characters`);
  return secret;
}

export interface ResolvedServeOptions {
  readonly host: string;
  readonly port: number;
  readonly stateDir: string;
  readonly trustedKeysDir: string;
  /** A fixed admin key (bare secret: id `default`). */
  readonly adminKey?: AdminCredentials;
  /** A folder of `<kid>.key` files, re-read for each admin request (rotation without restart). */
  readonly adminKeysDir?: string;
}

/**
 * The settings of `modelship serve`: flags first, then the environment, then defaults.
 *   --host / MODELSHIP_SERVING_HOST (127.0.0.1)      --port / MODELSHIP_SERVING_PORT (8300)
 *   --state-dir / MODELSHIP_SERVING_STATE_DIR (.modelship/serving)
 *   --trusted-keys-dir / MODELSHIP_SERVING_TRUSTED_KEYS_DIR (.modelship/keys)
 *   --admin-key-file / MODELSHIP_SERVING_ADMIN_KEY_FILE, or MODELSHIP_SERVING_ADMIN_KEY
 *   --admin-keys-dir / MODELSHIP_SERVING_ADMIN_KEYS_DIR (at least one admin key source)
 */
export async function resolveServeOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ResolvedServeOptions> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'state-dir': { type: 'string' },
        'trusted-keys-dir': { type: 'string' },
        'admin-key-file': { type: 'string' },
        'admin-keys-dir': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new ServingConfigError(errorMessage(err));
  }
  const portText = values.port ?? env.MODELSHIP_SERVING_PORT ?? String(DEFAULT_SERVING_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ServingConfigError(`port must be 0-65535, got ${JSON.stringify(portText)}`);
  const dir = (value: string) => (isAbsolute(value) ? value : resolve(value));
  const keyFile = values['admin-key-file'] ?? env.MODELSHIP_SERVING_ADMIN_KEY_FILE;
  const keysDirText = values['admin-keys-dir'] ?? env.MODELSHIP_SERVING_ADMIN_KEYS_DIR;
  let adminKey: AdminCredentials | undefined;
  if (keyFile) adminKey = await readAdminKey(keyFile);
  else if (env.MODELSHIP_SERVING_ADMIN_KEY) adminKey = parseAdminKey(env.MODELSHIP_SERVING_ADMIN_KEY, 'MODELSHIP_SERVING_ADMIN_KEY');
  if (!adminKey && !keysDirText) checkAdminSecret(undefined);
  return {
    host: values.host ?? env.MODELSHIP_SERVING_HOST ?? DEFAULT_SERVING_HOST,
    port,
    stateDir: dir(values['state-dir'] ?? env.MODELSHIP_SERVING_STATE_DIR ?? DEFAULT_STATE_DIR),
    trustedKeysDir: dir(values['trusted-keys-dir'] ?? env.MODELSHIP_SERVING_TRUSTED_KEYS_DIR ?? DEFAULT_TRUSTED_KEYS_DIR),
    ...(adminKey ? { adminKey } : {}),
    ...(keysDirText ? { adminKeysDir: dir(keysDirText) } : {}),
  };
}
