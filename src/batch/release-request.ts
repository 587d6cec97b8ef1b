import type { ReleaseRequest } from '../release/types.js';
import type { Rollout, RolloutEntry } from './types.js';

/** The child release of one rollout entry: the entry over the rollout's defaults, tagged with the batch. Pure. */
export function releaseRequestOf(rollout: Rollout, entry: RolloutEntry, batchId: string): ReleaseRequest {
  return {
    name: entry.name,
    version: entry.version,
    source: entry.source,
    signingKeyPath: entry.signingKeyPath ?? rollout.signingKeyPath,
    requestedBy: rollout.requestedBy ?? `batch ${batchId}`,
    ...(entry.smoke ? { smoke: entry.smoke } : {}),
    ...(entry.canary !== undefined ? { canary: entry.canary } : {}),
    batchId,
  };
}
