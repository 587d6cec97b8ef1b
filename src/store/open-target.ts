import { join } from 'node:path';
import { DATA_DIR } from '../paths.js';
import type { Logger } from '../logger.js';
import type { StoreLocation } from '../oci/reference.js';
import type { Credentials } from '../oci/credentials.js';
import { LayoutTarget } from './layout-target.js';
import { RemoteTarget } from './remote-target.js';
import type { Target } from './target.js';

export interface OpenTargetOptions {
  readonly plainHttp?: boolean;
  readonly credentials?: Credentials | null;
  /** PEM file of CAs trusted for the registry besides the system's (default: MODELSHIP_REGISTRY_CA_FILE). */
  readonly caFile?: string;
  readonly logger?: Logger;
  readonly chunkBytes?: number;
}

/** The one place a location becomes a Target: every stage then runs the same code on it. */
export function openTarget(location: StoreLocation, options: OpenTargetOptions = {}): Target {
  if (location.kind === 'layout') return new LayoutTarget(location.dir);
  return new RemoteTarget({
    registry: location.registry,
    repository: location.repository,
    uploadStateDir: join(process.env.MODELSHIP_HOME ?? DATA_DIR, 'uploads'),
    ...(options.plainHttp !== undefined ? { plainHttp: options.plainHttp } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.caFile !== undefined ? { caFile: options.caFile } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
  });
}
