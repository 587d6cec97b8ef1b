/**
 * A release as a report: what happened, read back from the workflow's history alone (no worker,
 * no query), so it works for any release the server still keeps, long after it ended. Pure:
 * history in, plain JSON out; the HTML renderer and `modelship status` read this model.
 */
import { canaryDecisionText, isExtension, isOperatorWait } from '../release/canary-wording.js';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { traceIdOfStart } from '../tracing/trace-metadata.js';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { describe } from '../canary/analysis/judge.js';
import type { CheckResult, Judgement, SlotMetrics } from '../canary/analysis/types.js';
import { RELEASE_STAGES, type StageName } from '../release/stages.js';
import type {
  AttestResult,
  ExportResult,
  FileDigest,
  HashResult,
  ReleaseRequest,
  ReleaseResult,
  SignResult,
  SmokeResult,
  SmokeVerification,
} from '../release/types.js';

type HistoryEvent = NonNullable<History['events']>[number];
type Failure = NonNullable<NonNullable<HistoryEvent['activityTaskFailedEventAttributes']>['failure']>;

/** Which stage each activity belongs to (servingTarget only decides whether the canary runs). */
const STAGE_OF_ACTIVITY: Readonly<Record<string, StageName>> = {
  exportModel: 'export',
  hashBundle: 'hash',
  signManifest: 'sign',
  attestProvenance: 'attest',
  smokeTest: 'smoke',
  deployCanary: 'canary',
  setCanaryWeight: 'canary',
  analyzeCanary: 'canary',
  promoteCanary: 'canary',
  rollbackCanary: 'canary',
};

export type ReportStageState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'not reached';

export interface ReportStage {
  readonly name: StageName;
  readonly state: ReportStageState;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  /** Activity attempts of the stage (more than its activities: retries happened). */
  readonly attempts: number;
  /** The figures worth reading at a glance. */
  readonly figures: Readonly<Record<string, string | number>>;
  readonly error?: { readonly type: string; readonly message: string };
}

export interface SlotFigures {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
}

/** One canary analysis (an analyzeCanary result in history) with the figures the charts plot. */
export interface ReportAnalysis {
  readonly at: string;
  /** The canary's share of traffic when it was judged. */
  readonly weight: number;
  readonly verdict: Judgement['verdict'];
  readonly stable: SlotFigures;
  readonly canary: SlotFigures;
  readonly agreementRate: number | null;
  readonly shadowComparisons: number;
  readonly pValue: number | null;
  readonly latencyShift: number | null;
  readonly checks: ReadonlyArray<Pick<CheckResult, 'check' | 'status' | 'message'>>;
  /** The judge's one-line summary, as the workflow's decision log words it. */
  readonly summary: string;
}

export type ReportDecisionKind =
  | 'first-version'
  | 'weight'
  | 'analysis'
  | 'extend'
  | 'pause'
  | 'approve'
  | 'promote'
  | 'abort'
  | 'timeout'
  | 'rollback';

export interface ReportDecision {
  readonly at: string;
  readonly weight: number;
  readonly kind: ReportDecisionKind;
  readonly verdict?: string;
  readonly summary: string;
}

export type ReportOutcome =
  | 'running'
  | 'released'
  | 'promoted'
  | 'rolled_back'
  | 'failed'
  | 'terminated'
  | 'timed_out'
  | 'canceled';

export interface ReleaseReport {
  readonly releaseId: string;
  readonly runId?: string;
  readonly workflowType: string;
  readonly staticSummary?: string;
  /** The OpenTelemetry trace the release recorded into (memo or propagated header), if traced. */
  readonly traceId?: string;
  readonly request?: {
    readonly name: string;
    readonly version: string;
    readonly source: string;
    readonly requestedBy?: string;
    readonly batchId?: string;
  };
  readonly outcome: ReportOutcome;
  /** Why it ended as it did (the failure's message), for anything but a success. */
  readonly outcomeMessage?: string;
  readonly startedAt?: string;
  readonly closedAt?: string;
  readonly durationMs?: number;
  readonly stages: readonly ReportStage[];
  readonly digests: {
    readonly rootDigest?: string;
    readonly manifestSha256?: string;
    readonly rule?: string;
    readonly totalBytes?: number;
    readonly files: readonly FileDigest[];
  };
  readonly signature?: { readonly kids: readonly string[]; readonly alg: string; readonly typ: string; readonly jwsPath: string };
  readonly attestation?: { readonly predicateType: string; readonly subject: string; readonly envelopePath: string; readonly kid: string };
  readonly smoke?: {
    readonly result: string;
    readonly maxAbsDiff: number;
    readonly maxRelDiff: number;
    readonly tolerance: { readonly absolute: number; readonly relative: number };
    readonly sandboxMs: number;
    readonly nativeMs: number;
    readonly outputs: readonly string[];
    readonly plugins: ReadonlyArray<{ readonly path: string; readonly passed: boolean; readonly message: string }>;
    readonly warning?: string;
  };
  /** How smoke verified the bundle before running it (absent for releases from before that). */
  readonly verification?: SmokeVerification;
  readonly canary?: {
    readonly model?: string;
    readonly firstVersion: boolean;
    readonly analyses: readonly ReportAnalysis[];
  };
  readonly decisions: readonly ReportDecision[];
}

interface StageAcc {
  startedMs?: number;
  finishedMs?: number;
  attempts: number;
  scheduled: number;
  closed: number;
  error?: { type: string; message: string };
}

/** Reads a release's history into its report. `releaseId` names it when the history does not. */
export function buildReleaseReport(history: History, releaseId = ''): ReleaseReport {
  const events = history.events ?? [];
  const scheduled = new Map<string, { type: string; input: unknown; summary?: string }>();
  const acc = new Map<StageName, StageAcc>(RELEASE_STAGES.map((s) => [s, { attempts: 0, scheduled: 0, closed: 0 }]));
  const decisions: ReportDecision[] = [];
  const analyses: ReportAnalysis[] = [];
  const timers = new Map<string, string>();
  let weight = 0;
  let request: ReleaseRequest | undefined;
  let workflowType = '';
  let runId: string | undefined;
  let staticSummary: string | undefined;
  let traceId: string | undefined;
  let startedMs: number | undefined;
  let closedMs: number | undefined;
  let outcome: ReportOutcome = 'running';
  let outcomeMessage: string | undefined;
  let failedStage: { stage?: string; type?: string; message?: string } | undefined;
  let result: ReleaseResult | undefined;
  let exported: ExportResult | undefined;
  let hashed: HashResult | undefined;
  let signed: SignResult | undefined;
  let attested: AttestResult | undefined;
  let smoked: SmokeResult | undefined;
  let firstVersion = false;
  let canaryModel: string | undefined;
  let canaryRan = false;

  const decide = (at: number | undefined, kind: ReportDecisionKind, summary: string, verdict?: string) =>
    decisions.push({ at: iso(at), weight, kind, ...(verdict ? { verdict } : {}), summary });

  for (const event of events) {
    const at = timestampMs(event.eventTime);
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      startedMs = at;
      workflowType = started.workflowType?.name ?? '';
      runId = started.originalExecutionRunId ?? undefined;
      request = first(started.input?.payloads) as ReleaseRequest | undefined;
      staticSummary = decodePayload(event.userMetadata?.summary) as string | undefined;
      traceId = traceIdOfStart(started, (p) => defaultPayloadConverter.fromPayload(p));
      continue;
    }
    const sched = event.activityTaskScheduledEventAttributes;
    if (sched) {
      const type = sched.activityType?.name ?? '';
      scheduled.set(String(event.eventId), { type, input: first(sched.input?.payloads), summary: decodePayload(event.userMetadata?.summary) as string | undefined });
      const stage = STAGE_OF_ACTIVITY[type];
      if (stage) {
        const s = acc.get(stage)!;
        s.startedMs ??= at;
        s.scheduled++;
        if (stage === 'canary') canaryRan = true;
      }
      continue;
    }
    const startedAttempt = event.activityTaskStartedEventAttributes;
    if (startedAttempt) {
      const stage = STAGE_OF_ACTIVITY[scheduled.get(String(startedAttempt.scheduledEventId))?.type ?? ''];
      if (stage) acc.get(stage)!.attempts += startedAttempt.attempt ?? 1;
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const activity = scheduled.get(String(completed.scheduledEventId));
      const value = first(completed.result?.payloads);
      const stage = STAGE_OF_ACTIVITY[activity?.type ?? ''];
      if (stage) closeStage(acc.get(stage)!, at);
      switch (activity?.type) {
        case 'exportModel':
          exported = value as ExportResult;
          break;
        case 'hashBundle':
          hashed = value as HashResult;
          break;
        case 'signManifest':
          signed = value as SignResult;
          break;
        case 'attestProvenance':
          attested = value as AttestResult;
          break;
        case 'smokeTest':
          smoked = value as SmokeResult;
          break;
        case 'deployCanary': {
          const deployed = value as { slot: string; message: string; stableVersion: string | null };
          canaryModel = (activity.input as { model?: string } | undefined)?.model;
          if (deployed.slot === 'stable') {
            firstVersion = true;
            decide(at, 'first-version', canaryDecisionText.firstVersion(deployed.message));
            weight = 100;
          } else decide(at, 'weight', `canary deployed next to stable ${deployed.stableVersion ?? '?'} at 0% (${deployed.message})`);
          break;
        }
        case 'setCanaryWeight':
          weight = (value as { weight: number }).weight;
          decide(at, 'weight', `${weight}% of traffic to the canary`);
          break;
        case 'analyzeCanary': {
          const analysis = analysisOf(value as Judgement, at, weight);
          analyses.push(analysis);
          decide(at, 'analysis', analysis.summary, analysis.verdict);
          break;
        }
        case 'promoteCanary':
          decide(at, 'promote', canaryDecisionText.promoted((value as { message: string }).message));
          weight = 100;
          break;
        case 'rollbackCanary':
          weight = 0;
          decide(at, 'rollback', `${activity.summary ?? 'rolled back'} (${(value as { message: string }).message})`);
          break;
      }
      continue;
    }
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes ?? event.activityTaskCanceledEventAttributes;
    if (failed) {
      const stage = STAGE_OF_ACTIVITY[scheduled.get(String(failed.scheduledEventId))?.type ?? ''];
      if (stage) {
        const s = acc.get(stage)!;
        closeStage(s, at);
        const failure = 'failure' in failed ? failed.failure : undefined;
        s.error = failure ? errorOf(failure) : { type: 'Canceled', message: 'the activity was cancelled' };
      }
      continue;
    }
    const timer = event.timerStartedEventAttributes;
    if (timer) {
      const summary = (decodePayload(event.userMetadata?.summary) as string | undefined) ?? '';
      timers.set(String(event.eventId), summary);
      if (isOperatorWait(summary)) decide(at, 'pause', summary);
      // An inconclusive analysis followed by another bake was an extension, not the last word.
      else if (isExtension(summary) && decisions.at(-1)?.kind === 'analysis') decisions.push({ ...decisions.pop()!, kind: 'extend' });
      continue;
    }
    const fired = event.timerFiredEventAttributes;
    if (fired) {
      const summary = timers.get(String(fired.startedEventId)) ?? '';
      if (isOperatorWait(summary)) decide(at, 'timeout', `no operator answered: ${summary}`);
      continue;
    }
    const update = event.workflowExecutionUpdateAcceptedEventAttributes;
    if (update) {
      const name = update.acceptedRequest?.input?.name ?? '';
      const args = (first(update.acceptedRequest?.input?.args?.payloads) ?? {}) as { full?: boolean; reason?: string };
      if (name === 'approve') decide(at, 'approve', canaryDecisionText.approved);
      else if (name === 'promote') decide(at, 'promote', canaryDecisionText.promotedByOperator(args.full ?? false));
      else if (name === 'abort') decide(at, 'abort', `aborted by an operator: ${args.reason || 'no reason given'}`);
      continue;
    }
    if (event.workflowExecutionCompletedEventAttributes) {
      closedMs = at;
      result = first(event.workflowExecutionCompletedEventAttributes.result?.payloads) as ReleaseResult | undefined;
      outcome = result?.canary ? 'promoted' : 'released';
      continue;
    }
    if (event.workflowExecutionFailedEventAttributes) {
      closedMs = at;
      const failure = event.workflowExecutionFailedEventAttributes.failure;
      failedStage = (failure ? first(failure.applicationFailureInfo?.details?.payloads) : undefined) as typeof failedStage;
      outcomeMessage = failure?.message ?? 'failed';
      outcome = failedStage?.type === 'CanaryRolledBack' ? 'rolled_back' : 'failed';
      continue;
    }
    if (event.workflowExecutionTerminatedEventAttributes) {
      closedMs = at;
      outcome = 'terminated';
      outcomeMessage = event.workflowExecutionTerminatedEventAttributes.reason || 'terminated';
      continue;
    }
    if (event.workflowExecutionTimedOutEventAttributes) {
      closedMs = at;
      outcome = 'timed_out';
      outcomeMessage = 'the workflow timed out';
      continue;
    }
    if (event.workflowExecutionCanceledEventAttributes) {
      closedMs = at;
      outcome = 'canceled';
      outcomeMessage = 'the workflow was cancelled';
    }
  }

  const closed = outcome !== 'running';
  const figures: Record<StageName, Record<string, string | number>> = {
    export: exported ? { modelFile: exported.modelFile, files: exported.files.length, opsets: exported.model.opsets.map((o) => `${o.domain}:${o.version}`).join(', '), ...(exported.bundle ? { reference: exported.bundle.reference } : { bundleDir: exported.bundleDir }) } : {},
    hash: hashed ? { rootDigest: `sha256:${hashed.rootDigest}`, files: hashed.files.length, bytes: hashed.totalBytes, ...(hashed.rule ? { rule: hashed.rule } : {}) } : {},
    sign: signed ? { kid: kidsOf(signed).join(', '), alg: signed.alg } : {},
    attest: attested ? { predicateType: attested.predicateType, kid: attested.kid } : {},
    smoke: smoked ? { result: smoked.result, maxAbsDiff: smoked.maxAbsDiff, ...(smoked.verification ? { verifiedBy: smoked.verification.mode, signatures: `${smoked.verification.counted} of ${smoked.verification.threshold}` } : {}) } : {},
    canary: canaryRan
      ? {
          ...(canaryModel ? { model: canaryModel } : {}),
          analyses: analyses.length,
          ...(analyses.length ? { lastVerdict: analyses.at(-1)!.verdict } : {}),
          weight: `${weight}%`,
        }
      : {},
  };
  const stages: ReportStage[] = RELEASE_STAGES.map((name) => {
    const s = acc.get(name)!;
    const failedHere = failedStage?.stage === name;
    const error = failedHere && failedStage?.type ? { type: failedStage.type, message: failedStage.message ?? '' } : s.error;
    let state: ReportStageState;
    if (s.scheduled === 0) state = closed ? (outcome === 'released' || outcome === 'promoted' ? 'skipped' : 'not reached') : 'pending';
    else if (failedHere) state = 'failed';
    else if (s.closed < s.scheduled) state = closed ? 'failed' : 'running';
    else if (name === 'canary') state = closed ? (outcome === 'promoted' ? 'succeeded' : 'failed') : 'running';
    else state = s.error && !closed ? 'running' : 'succeeded';
    // The canary runs until the release ends (bakes are timers, not activities).
    const finishedMs = name === 'canary' && closed && s.scheduled > 0 ? closedMs : s.closed === s.scheduled ? s.finishedMs : undefined;
    return {
      name,
      state,
      ...(s.startedMs !== undefined ? { startedAt: iso(s.startedMs) } : {}),
      ...(finishedMs !== undefined ? { finishedAt: iso(finishedMs) } : {}),
      ...(s.startedMs !== undefined && finishedMs !== undefined ? { durationMs: finishedMs - s.startedMs } : {}),
      attempts: s.attempts,
      figures: figures[name],
      ...(state === 'failed' && error ? { error } : {}),
    };
  });

  return {
    releaseId: result?.releaseId ?? releaseId,
    ...(runId ? { runId } : {}),
    workflowType,
    ...(staticSummary ? { staticSummary } : {}),
    ...(traceId ? { traceId } : {}),
    ...(request
      ? {
          request: {
            name: request.name,
            version: request.version,
            source: request.source.kind === 'onnx' ? `ONNX ${request.source.path}` : `${request.source.exporter} exporter on ${request.source.input}`,
            ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
            ...(request.batchId ? { batchId: request.batchId } : {}),
          },
        }
      : {}),
    outcome,
    ...(outcomeMessage ? { outcomeMessage } : {}),
    ...(startedMs !== undefined ? { startedAt: iso(startedMs) } : {}),
    ...(closedMs !== undefined ? { closedAt: iso(closedMs) } : {}),
    ...(startedMs !== undefined && closedMs !== undefined ? { durationMs: closedMs - startedMs } : {}),
    stages,
    digests: {
      ...(hashed ? { rootDigest: hashed.rootDigest, manifestSha256: hashed.manifestSha256, totalBytes: hashed.totalBytes, ...(hashed.rule ? { rule: hashed.rule } : {}) } : {}),
      files: hashed?.files ?? [],
    },
    ...(signed ? { signature: { kids: kidsOf(signed), alg: signed.alg, typ: signed.typ, jwsPath: signed.jwsPath } } : {}),
    ...(attested
      ? { attestation: { predicateType: attested.predicateType, subject: `${attested.subject.name} sha256:${attested.subject.sha256}`, envelopePath: attested.envelopePath, kid: attested.kid } }
      : {}),
    ...(smoked
      ? {
          smoke: {
            result: smoked.result,
            maxAbsDiff: smoked.maxAbsDiff,
            maxRelDiff: smoked.maxRelDiff,
            tolerance: smoked.tolerance,
            sandboxMs: smoked.sandboxMs,
            nativeMs: smoked.nativeMs,
            outputs: smoked.outputs.map((o) => `${o.name} ${o.type}[${o.dims.join('x')}]`),
            plugins: smoked.plugins.map((p) => ({ path: p.path, passed: p.passed, message: p.message })),
            ...(smoked.warning ? { warning: smoked.warning } : {}),
          },
        }
      : {}),
    ...(smoked?.verification ? { verification: smoked.verification } : {}),
    ...(canaryRan ? { canary: { ...(canaryModel ? { model: canaryModel } : {}), firstVersion, analyses } } : {}),
    decisions,
  };
}

function closeStage(s: StageAcc, at: number | undefined): void {
  s.closed++;
  if (at !== undefined) s.finishedMs = at;
}

function analysisOf(j: Judgement, at: number | undefined, weight: number): ReportAnalysis {
  const m = j.metrics;
  const slot = (s: SlotMetrics): SlotFigures => ({
    requests: s.requests,
    errors: s.errors,
    errorRate: s.errorRate,
    p50Ms: s.latencyMs?.p50 ?? null,
    p90Ms: s.latencyMs?.p90 ?? null,
    p99Ms: s.latencyMs?.p99 ?? null,
  });
  return {
    at: iso(at),
    weight,
    verdict: j.verdict,
    stable: slot(m.baseline),
    canary: slot(m.canary),
    agreementRate: m.shadow.agreementRate,
    shadowComparisons: m.shadow.comparisons,
    pValue: m.latency.mannWhitney.computed ? m.latency.mannWhitney.p : null,
    latencyShift: m.latency.relativeEffect,
    checks: j.checks.map((c) => ({ check: c.check, status: c.status, message: c.message })),
    summary: describe(j),
  };
}

function kidsOf(signed: SignResult): string[] {
  return [...(signed.kids ?? signed.kid.split(',').map((k) => k.trim()))];
}

/** The innermost failure's type and message: what actually went wrong. */
function errorOf(failure: Failure): { type: string; message: string } {
  let f: Failure = failure;
  while (f.cause) f = f.cause;
  return { type: f.applicationFailureInfo?.type || (f.timeoutFailureInfo ? 'Timeout' : 'Error'), message: f.message ?? '' };
}

function first(payloads: readonly Payload[] | null | undefined): unknown {
  return payloads?.length ? decodePayload(payloads[0]) : undefined;
}

/** A payload's value, or undefined when this converter cannot read it. */
export function decodePayload(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined; // a payload this converter cannot read (e.g. encrypted by a codec): left out
  }
}

/** Event times as fetched (seconds a Long) or read back from JSON (seconds a number or string). */
export function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!ts) return undefined;
  const s = ts.seconds;
  const seconds = typeof s === 'number' ? s : typeof s === 'string' ? Number(s) : s && typeof (s as { toNumber?: unknown }).toNumber === 'function' ? (s as { toNumber(): number }).toNumber() : 0;
  return Number.isFinite(seconds) ? seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : undefined;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}
