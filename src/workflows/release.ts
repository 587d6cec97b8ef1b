import {
  ActivityFailure,
  ApplicationFailure,
  deprecatePatch,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReleaseRequest, ReleaseResult, SmokeResult, SmokeVerification } from '../release/types.js';
import type { StoredBundle } from '../store/bundle-store.js';
import type { ReleaseStageValue, StageError, StageName } from '../release/stages.js';
import { assertSafeName } from '../release/ids.js';
import { renderCurrentDetails } from '../release/current-details.js';
import { STAGE_ACTIVITY_OPTIONS } from './activity-options.js';
import { releaseStatusQuery } from '../workflow-definitions.js';
import { ReleaseTracker } from './release-tracker.js';
import { ReleaseAttributes } from './release-attributes.js';
import { activitiesWithSummary, timeline } from './timeline.js';
import { CanaryController, type CanaryResult } from './canary-stage.js';
import { canaryPlanProblems, resolveCanaryPlan } from '../canary/plan.js';

// Pinned (the versioned worker's default, src/release-worker.ts): a release finishes on the
// worker version it started on (canaries can wait hours for approval), so a deploy never
// replays its history on other code.

/**
 * export → hash → sign → attest → smoke → canary → promote or roll back. Each stage is one activity whose result (digests, kid,
 * file names) lands in history; the status query, the search attributes and the Web UI's
 * current details follow along. New stages are further `stage()` calls.
 */
export async function ReleaseWorkflow(request: ReleaseRequest): Promise<ReleaseResult> {
  const info = workflowInfo();
  const releaseId = info.workflowId;
  try {
    assertSafeName('name', request.name);
    assertSafeName('version', request.version);
    if (request.batchId !== undefined) assertSafeName('batch id', request.batchId);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidReleaseRequest');
  }
  // The five patches of earlier workflow versions are retired: their old branches are gone, and
  // each deprecatePatch keeps replaying the histories of the version before this one, whose
  // patched() calls wrote markers here. Older releases finish on their own version (pinned
  // Worker Deployment versions, or drained first: README "Upgrading workers"). The next version
  // may drop these calls once no history of the version before this one can be running.
  deprecatePatch('canary-stage');
  if (request.canary) {
    const problems = canaryPlanProblems(resolveCanaryPlan(request.canary, request.name));
    if (problems.length) throw ApplicationFailure.nonRetryable(`invalid canary plan: ${problems.join('; ')}`, 'InvalidReleaseRequest');
  }
  deprecatePatch('ui-metadata');
  const tracker = new ReleaseTracker(releaseId, request.name, request.version, () => showDetails());
  const attributes = new ReleaseAttributes(() => showDetails());
  // Live details for the Web UI (served by the built-in metadata query; not a command, so unpatched).
  function showDetails(): void {
    setCurrentDetails(renderCurrentDetails({ status: tracker.snapshot(), ...attributes.current() }));
  }
  const setStage = (value: ReleaseStageValue) => attributes.stage(value);
  const canaryController = new CanaryController((status) => tracker.canaryStatus(status), attributes);
  setHandler(releaseStatusQuery, () => tracker.snapshot(), { description: 'Every stage of this release with its state and figures' });
  attributes.begin(request);
  const startedOn = info.startTime.toISOString();

  async function stage<T>(name: StageName, run: () => Promise<T>, summarize: (result: T) => Record<string, string | number>): Promise<T> {
    tracker.started(name, new Date().toISOString());
    setStage(name);
    try {
      const result = await run();
      tracker.succeeded(name, new Date().toISOString(), summarize(result));
      return result;
    } catch (err) {
      const error = stageError(err);
      tracker.failed(name, new Date().toISOString(), error);
      setStage(error.type === 'CanaryRolledBack' ? 'rolled_back' : 'failed');
      throw ApplicationFailure.create({
        type: 'ReleaseFailed',
        message: `release ${releaseId} failed at ${name}: ${error.message}`,
        nonRetryable: true,
        details: [{ stage: name, ...error }],
        cause: err instanceof Error ? err : undefined,
      });
    }
  }

  // Stages hand each other a pinned reference (the model in the store, its parts as
  // referrers), so any stage runs on any worker.
  deprecatePatch('bundle-store');
  const exported = await stage(
    'export',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.export, timeline.export(request.source)).exportModel({ releaseId, request, createdAt: startedOn }),
    (r) => ({ reference: r.bundle.reference, modelFile: r.modelFile, files: r.files.map((f) => f.path).join(', '), opsets: r.model.opsets.map((o) => `${o.domain}:${o.version}`).join(', ') }),
  );
  // The pinned reference is fixed at export: later stages attach referrers to it.
  deprecatePatch('model-reference-attribute');
  attributes.reference(exported.bundle.reference);
  const hashed = await stage(
    'hash',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.hash, timeline.hash()).hashBundle({ bundle: exported.bundle }),
    (r) => ({ rootDigest: r.rootDigest, files: r.files.length, bytes: r.totalBytes, manifestSha256: r.manifestSha256 }),
  );
  attributes.digest(hashed.rootDigest);
  const signed = await stage(
    'sign',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.sign, timeline.sign(request.signingKeyPath)).signManifest({ bundle: hashed.bundle, signingKeyPath: request.signingKeyPath }),
    (r) => ({ kid: r.kid, alg: r.alg, typ: r.typ, jws: r.jwsPath }),
  );
  const attested = await stage(
    'attest',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.attest, timeline.attest(request.signingKeyPath)).attestProvenance({ bundle: signed.bundle, signingKeyPath: request.signingKeyPath, request, startedOn }),
    (r) => ({ predicateType: r.predicateType, subject: `${r.subject.name} sha256:${r.subject.sha256}`, envelope: r.envelopePath, kid: r.kid }),
  );

  deprecatePatch('smoke-stage');
  const smoked = await stage(
    'smoke',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.smoke, timeline.smoke(request.smoke)).smokeTest({ bundle: attested.bundle, signingKeyPath: request.signingKeyPath, ...(request.smoke ? { options: request.smoke } : {}) }),
    (r) => ({
      result: r.result,
      maxAbsDiff: r.maxAbsDiff,
      maxRelDiff: r.maxRelDiff,
      outputs: r.outputs.map((o) => `${o.name}[${o.dims.join('x')}]`).join(', '),
      sandboxMs: r.sandboxMs,
      nativeMs: r.nativeMs,
      ...(r.plugins.length ? { plugins: r.plugins.map((p) => `${p.path}: ${p.message}`).join('; ') } : {}),
      ...(r.warning ? { warning: r.warning } : {}),
      ...(r.verification ? verificationSummary(r.verification) : {}),
    }),
  );

  const reference = smoked.bundle.reference;
  let canary: CanaryResult | undefined;
  const plan = resolveCanaryPlan(request.canary || undefined, request.name);
  const target = request.canary === false ? undefined : await activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.canary, timeline.servingTarget()).servingTarget();
  if (request.canary === false) tracker.skipped('canary', 'the release asked for no deployment (canary: false)');
  else if (!target?.configured && request.canary === undefined) tracker.skipped('canary', 'the worker has no serving runtime configured: the release ends with its bundle');
  else canary = await stage('canary', () => canaryController.run(plan, { reference }), (r) => ({
    outcome: r.firstVersion ? 'promoted (first version, straight to stable)' : 'promoted',
    model: r.model,
    decisions: r.decisions.length,
    last: r.decisions.at(-1)?.summary ?? '',
  }));

  tracker.released(reference, hashed.rootDigest);
  setStage(canary ? 'promoted' : 'released');
  return {
    releaseId,
    name: request.name,
    version: request.version,
    bundleDir: exported.bundleDir,
    reference,
    rootDigest: hashed.rootDigest,
    kid: signed.kid,
    files: hashed.files,
    signature: signed.jwsPath,
    attestations: [attested.envelopePath, smoked.attestationPath],
    smoke: {
      result: smoked.result,
      maxAbsDiff: smoked.maxAbsDiff,
      maxRelDiff: smoked.maxRelDiff,
      ...(smoked.sandboxFixup ? { sandboxFixup: { id: smoked.sandboxFixup.id, sha256: smoked.sandboxFixup.sha256 } } : {}),
    },
    ...(canary ? { canary: { outcome: canary.outcome, model: canary.model, firstVersion: canary.firstVersion, decisions: canary.decisions.length } } : {}),
  };
}

/** How smoke verified the bundle, for the stage summary (keys only: no workflow command). */
function verificationSummary(v: SmokeVerification): Record<string, string | number> {
  return {
    verifiedBy: `${v.mode} (${v.trustSource})`,
    verifiedKids: v.countedKids.join(', '),
    signatures: v.signatures.map((s) => `${s.kid ?? '?'}: ${s.status}`).join('; '),
    trustRule: v.rule,
    signaturesCounted: `${v.counted} of ${v.threshold} required`,
    verifiedRootDigest: `sha256:${v.rootDigest}`,
    verifiedManifestSha256: v.manifestSha256,
  };
}

function stageError(err: unknown): StageError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}
