import {
  ActivityFailure,
  ApplicationFailure,
  patched,
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
  // Decided first, before any command, so every later check of it agrees under replay.
  const withCanary = patched('canary-stage');
  if (withCanary && request.canary) {
    const problems = canaryPlanProblems(resolveCanaryPlan(request.canary, request.name));
    if (problems.length) throw ApplicationFailure.nonRetryable(`invalid canary plan: ${problems.join('; ')}`, 'InvalidReleaseRequest');
  }
  // Verdict, CanaryWeight and BatchId upserts are new commands: only for releases started with them.
  const withUiMetadata = patched('ui-metadata');
  const tracker = new ReleaseTracker(releaseId, request.name, request.version, () => showDetails());
  const attributes = new ReleaseAttributes(withUiMetadata, () => showDetails());
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

  // Releases started with the bundle store hand each other a pinned reference (the model in the
  // store, its parts as referrers), so any stage runs on any worker; older ones keep bundleDir.
  const viaStore = patched('bundle-store');
  const exported = await stage(
    'export',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.export, timeline.export(request.source)).exportModel({ releaseId, request, createdAt: startedOn, ...(viaStore ? { publish: true } : {}) }),
    (r) => ({ ...(r.bundle ? { reference: r.bundle.reference } : { bundleDir: r.bundleDir }), modelFile: r.modelFile, files: r.files.map((f) => f.path).join(', '), opsets: r.model.opsets.map((o) => `${o.domain}:${o.version}`).join(', ') }),
  );
  // The pinned reference is fixed at export (later stages attach referrers to it); a new upsert
  // command, so only for releases started with it.
  if (exported.bundle && patched('model-reference-attribute')) attributes.reference(exported.bundle.reference);
  const hashed = await stage(
    'hash',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.hash, timeline.hash()).hashBundle(exported.bundle ? { bundle: exported.bundle } : { bundleDir: exported.bundleDir, known: exported.files }),
    (r) => ({ rootDigest: r.rootDigest, files: r.files.length, bytes: r.totalBytes, manifestSha256: r.manifestSha256 }),
  );
  attributes.digest(hashed.rootDigest);
  const at = (bundle: StoredBundle | undefined) => (bundle ? { bundle } : { bundleDir: exported.bundleDir });
  const signed = await stage(
    'sign',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.sign, timeline.sign(request.signingKeyPath)).signManifest({ ...at(hashed.bundle), signingKeyPath: request.signingKeyPath }),
    (r) => ({ kid: r.kid, alg: r.alg, typ: r.typ, jws: r.jwsPath }),
  );
  const attested = await stage(
    'attest',
    () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.attest, timeline.attest(request.signingKeyPath)).attestProvenance({ ...at(signed.bundle), signingKeyPath: request.signingKeyPath, request, startedOn }),
    (r) => ({ predicateType: r.predicateType, subject: `${r.subject.name} sha256:${r.subject.sha256}`, envelope: r.envelopePath, kid: r.kid }),
  );

  // Releases started before the smoke stage existed finish without it (replay-safe).
  let smoked: SmokeResult | undefined;
  if (patched('smoke-stage')) {
    smoked = await stage(
      'smoke',
      () => activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.smoke, timeline.smoke(request.smoke)).smokeTest({ ...at(attested.bundle), signingKeyPath: request.signingKeyPath, ...(request.smoke ? { options: request.smoke } : {}) }),
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
  } else {
    tracker.skipped('smoke', 'this release started on a workflow version without the smoke stage');
  }

  const reference = (smoked?.bundle ?? attested.bundle)?.reference;
  let canary: CanaryResult | undefined;
  if (withCanary) {
    const plan = resolveCanaryPlan(request.canary || undefined, request.name);
    const target = request.canary === false ? undefined : await activitiesWithSummary(STAGE_ACTIVITY_OPTIONS.canary, timeline.servingTarget()).servingTarget();
    if (request.canary === false) tracker.skipped('canary', 'the release asked for no deployment (canary: false)');
    else if (!target?.configured && request.canary === undefined) tracker.skipped('canary', 'the worker has no serving runtime configured: the release ends with its bundle');
    else canary = await stage('canary', () => canaryController.run(plan, reference ? { reference } : { bundleDir: exported.bundleDir }), (r) => ({
      outcome: r.firstVersion ? 'promoted (first version, straight to stable)' : 'promoted',
      model: r.model,
      decisions: r.decisions.length,
      last: r.decisions.at(-1)?.summary ?? '',
    }));
  } else {
    tracker.skipped('canary', 'this release started on a workflow version without the canary stage');
  }

  tracker.released(reference ?? exported.bundleDir, hashed.rootDigest);
  setStage(canary ? 'promoted' : 'released');
  return {
    releaseId,
    name: request.name,
    version: request.version,
    bundleDir: exported.bundleDir,
    ...(reference ? { reference } : {}),
    rootDigest: hashed.rootDigest,
    kid: signed.kid,
    files: hashed.files,
    signature: signed.jwsPath,
    attestations: smoked ? [attested.envelopePath, smoked.attestationPath] : [attested.envelopePath],
    ...(smoked
      ? {
          smoke: {
            result: smoked.result,
            maxAbsDiff: smoked.maxAbsDiff,
            maxRelDiff: smoked.maxRelDiff,
            ...(smoked.sandboxFixup ? { sandboxFixup: { id: smoked.sandboxFixup.id, sha256: smoked.sandboxFixup.sha256 } } : {}),
          },
        }
      : {}),
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
