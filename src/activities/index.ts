import type { ActivityDeps } from './deps.js';
import { exportModel, type ExportInput } from './export-model.js';
import { hashBundle, type HashInput } from './hash-bundle.js';
import { signManifest, type SignInput } from './sign-manifest.js';
import { attestProvenance, type AttestInput } from './attest-provenance.js';
import { smokeTest, type SmokeInput } from './smoke-test.js';
import { analyzeCanary, deployCanary, promoteCanary, rollbackCanary, servingTarget, setCanaryWeight } from './canary.js';
import { abortRelease, awaitRelease, inspectRelease } from './release-control.js';
import { withFailureMapping } from './failures.js';

export type { ActivityDeps, ActivityMetrics } from './deps.js';
export type { ExportInput, HashInput, SignInput, AttestInput, SmokeInput };

/** The release activities, bound to the worker's configuration. */
export function createActivities(deps: ActivityDeps) {
  return {
    exportModel: withFailureMapping((input: ExportInput) => exportModel(deps, input)),
    hashBundle: withFailureMapping((input: HashInput) => hashBundle(input, { ...(deps.hashWorkers ? { workers: deps.hashWorkers } : {}), ...(deps.metrics ? { metrics: deps.metrics } : {}), reuseKnown: deps.digestCachePath !== undefined })),
    signManifest: withFailureMapping((input: SignInput) => signManifest(deps, input)),
    attestProvenance: withFailureMapping((input: AttestInput) => attestProvenance(deps, input)),
    smokeTest: withFailureMapping((input: SmokeInput) => smokeTest(deps, input)),
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

export type ReleaseActivities = ReturnType<typeof createActivities>;
