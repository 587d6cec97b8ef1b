import type { ActivityDeps } from './deps.js';
import { exportModel, type ExportInput } from './export-model.js';
import type { HashInput } from './hash-bundle.js';
import type { SignInput } from './sign-manifest.js';
import type { AttestInput } from './attest-provenance.js';
import type { SmokeInput } from './smoke-test.js';
import { analyzeCanary, deployCanary, promoteCanary, rollbackCanary, servingTarget, setCanaryWeight } from './canary.js';
import { abortRelease, awaitRelease, inspectRelease } from './release-control.js';
import { withFailureMapping } from './failures.js';
import { whileHeartbeating } from './heartbeat.js';
import { resolveSigningKeyPath } from '../trust/signing-key-ref.js';
import { attestInStore, hashInStore, signInStore, smokeInStore, type StoredStageInput } from './store-stages.js';

export type { ActivityDeps, ActivityMetrics } from './deps.js';
export type { ExportInput, HashInput, SignInput, AttestInput, SmokeInput };

/** The release activities, bound to the worker's configuration. */
export function createActivities(deps: ActivityDeps) {
  const hashSettings = { ...(deps.hashWorkers ? { workers: deps.hashWorkers } : {}), ...(deps.metrics ? { metrics: deps.metrics } : {}), reuseKnown: deps.digestCachePath !== undefined };
  return {
    exportModel: withFailureMapping((input: ExportInput) => whileHeartbeating(() => exportModel(deps, input))),
    // Every stage after export takes the pinned bundle in the store, so it runs on any worker.
    hashBundle: withFailureMapping((input: StoredStageInput<Omit<HashInput, 'bundleDir' | 'known'>>) => hashInStore(deps, input, hashSettings)),
    signManifest: withFailureMapping(async (given: StoredStageInput<Omit<SignInput, 'bundleDir'>>) => {
      const input = await withKeyPath(deps, given);
      return whileHeartbeating(() => signInStore(deps, input));
    }),
    attestProvenance: withFailureMapping(async (given: StoredStageInput<Omit<AttestInput, 'bundleDir'>>) => {
      const input = await withKeyPath(deps, given);
      return whileHeartbeating(() => attestInStore(deps, input));
    }),
    smokeTest: withFailureMapping(async (given: StoredStageInput<Omit<SmokeInput, 'bundleDir'>>) => smokeInStore(deps, await withKeyPath(deps, given))),
    servingTarget: withFailureMapping(() => servingTarget(deps)),
    deployCanary: withFailureMapping((input: Parameters<typeof deployCanary>[1]) => deployCanary(deps, input)),
    setCanaryWeight: withFailureMapping((input: Parameters<typeof setCanaryWeight>[1]) => setCanaryWeight(deps, input)),
    analyzeCanary: withFailureMapping((input: Parameters<typeof analyzeCanary>[1]) => analyzeCanary(deps, input)),
    promoteCanary: withFailureMapping((input: Parameters<typeof promoteCanary>[1]) => promoteCanary(deps, input)),
    rollbackCanary: withFailureMapping((input: Parameters<typeof rollbackCanary>[1]) => rollbackCanary(deps, input)),
    // For BatchRolloutWorkflow: other releases, through the worker's Temporal client.
    inspectRelease,
    awaitRelease,
    abortRelease,
  };
}

/** The release's key as a file on this worker: a `kid:` is resolved in the worker's MODELSHIP_SIGNING_KEYS_DIR. */
async function withKeyPath<T extends { readonly signingKeyPath: string }>(deps: ActivityDeps, input: T): Promise<T> {
  return { ...input, signingKeyPath: await resolveSigningKeyPath(input.signingKeyPath, deps.signingKeysDir) };
}

export type ReleaseActivities = ReturnType<typeof createActivities>;
