/**
 * What the Web UI shows for a release from the moment it starts: the one-line static summary
 * (workflow list), the static details (markdown, run page) and the search attributes known at
 * start. Used by the CLI and the test client, and meant for the batch workflow's child starts,
 * so it is pure and free of Node APIs (it runs inside workflows too).
 *
 * Static metadata is fixed when the workflow starts, before the hash stage: the root digest is
 * not known yet, so the summary names model@version and the source instead, and the digest
 * comes later in the ModelDigest search attribute and the current details.
 */
import type { SearchAttributePair, WorkflowIdReusePolicy } from '@temporalio/common';
import { DEFAULT_CANARY_POLICY } from '../canary/analysis/policy.js';
import { resolveCanaryPlan, type CanaryStep, type ResolvedCanaryPlan } from '../canary/plan.js';
import { BatchId, ModelName, ModelVersion, ReleaseStage, Verdict } from '../search-attributes.js';
import { releaseIdFor } from './ids.js';
import { baseName, code, fmtDuration, oneLine, truncateUtf8 } from './markdown.js';
import type { ModelSource, ReleaseRequest, SmokeOptions } from './types.js';

/** Temporal's limits: the summary is shown in one line of the list, the details on the run page. */
export const STATIC_SUMMARY_MAX_BYTES = 200;
export const STATIC_DETAILS_MAX_BYTES = 20_000;

export interface ReleaseStartMetadata {
  readonly staticSummary: string;
  readonly staticDetails: string;
  readonly typedSearchAttributes: SearchAttributePair[];
}

/** Start options of a release (client start or child workflow), without the task queue. */
export interface ReleaseStartOptions extends ReleaseStartMetadata {
  readonly workflowId: string;
  readonly args: [ReleaseRequest];
  readonly workflowIdReusePolicy: WorkflowIdReusePolicy;
}

export function releaseStartOptions(request: ReleaseRequest): ReleaseStartOptions {
  return {
    workflowId: releaseIdFor(request.name, request.version),
    args: [request],
    // A version is released once; a failed release may be started again after a fix.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    ...releaseStartMetadata(request),
  };
}

export function releaseStartMetadata(request: ReleaseRequest): ReleaseStartMetadata {
  return {
    staticSummary: releaseSummary(request),
    staticDetails: truncateUtf8(releaseDetails(request), STATIC_DETAILS_MAX_BYTES),
    typedSearchAttributes: [
      { key: ModelName, value: request.name },
      { key: ModelVersion, value: request.version },
      { key: ReleaseStage, value: 'export' },
      { key: Verdict, value: 'pending' },
      ...(request.batchId ? [{ key: BatchId, value: request.batchId }] : []),
    ],
  };
}

/** "sample-mlp@1.0.3 · ONNX sample-mlp.onnx · batch nightly-7" (≤ 200 bytes). */
export function releaseSummary(request: ReleaseRequest): string {
  const parts = [`${request.name}@${request.version}`, sourceLabel(request.source), ...(request.batchId ? [`batch ${request.batchId}`] : [])];
  return truncateUtf8(oneLine(parts.join(' · ')), STATIC_SUMMARY_MAX_BYTES);
}

function sourceLabel(source: ModelSource): string {
  return source.kind === 'onnx' ? `ONNX ${baseName(source.path)}` : `${source.exporter} export of ${baseName(source.input)}`;
}

/** The request as markdown: what was asked for, never a secret (the request holds none). */
export function releaseDetails(request: ReleaseRequest): string {
  const rows: Array<[string, string]> = [
    ['model', `${code(request.name)} version ${code(request.version)}`],
    ['source', sourceCell(request.source)],
    ['signing key', `${code(baseName(request.signingKeyPath))} at ${code(request.signingKeyPath)}; the sign stage names the kid(s)`],
    ['requested by', code(request.requestedBy ?? 'unknown')],
    ...(request.batchId ? ([['batch', code(request.batchId)]] as Array<[string, string]>) : []),
  ];
  return [
    `### Release ${oneLine(request.name)}@${oneLine(request.version)}`,
    '',
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    'The root digest is computed by the hash stage, after the start: see the `ModelDigest` search attribute and the current details.',
    '',
    '#### Smoke test',
    '',
    ...smokeLines(request.smoke),
    '',
    '#### Canary',
    '',
    ...canaryLines(request),
    '',
  ].join('\n');
}

function sourceCell(source: ModelSource): string {
  if (source.kind === 'onnx') return `ONNX ${code(source.path)}${source.allowSymlinks ? ' (symlinks allowed)' : ''}`;
  return `exporter ${code(source.exporter)} on ${code(source.input)}${source.timeoutSeconds ? `, timeout ${fmtDuration(source.timeoutSeconds)}` : ''}`;
}

function smokeLines(smoke: SmokeOptions | undefined): string[] {
  const s = smoke ?? {};
  const tolerance = s.tolerance
    ? [s.tolerance.absolute !== undefined ? `absolute ${s.tolerance.absolute}` : 'absolute default', s.tolerance.relative !== undefined ? `relative ${s.tolerance.relative}` : 'relative default'].join(', ')
    : 'worker default';
  const given = [
    ...Object.entries(s.shapes ?? {}).map(([name, dims]) => `${code(name)} [${dims.join(', ')}]`),
    ...Object.entries(s.dims ?? {}).map(([name, size]) => `${code(name)} = ${size}`),
    ...(s.intRange ? [`integers ${s.intRange.min}..${s.intRange.max}`] : []),
    ...Object.entries(s.intRanges ?? {}).map(([name, r]) => `${code(name)} ${r.min}..${r.max}`),
  ];
  const perOutput = Object.entries(s.outputTolerances ?? {}).map(([name, t]) => `${code(name)} ${t.absolute ?? 'default'}:${t.relative ?? 'default'}`);
  return [
    `- inputs: ${s.dataPath ? `${code(s.dataPath)}, with expected outputs` : s.inputsPath ? code(s.inputsPath) : `generated, seed ${s.seed ?? 1}`}${given.length ? `; ${given.join(', ')}` : ''}`,
    `- tolerance: ${tolerance}${perOutput.length ? `; per output ${perOutput.join(', ')}` : ''}`,
    `- sandbox: ${s.timeoutMs !== undefined ? `${fmtDuration(s.timeoutMs / 1000)} per call` : 'default deadline'}, ${s.maxMemoryMiB !== undefined ? `${s.maxMemoryMiB} MiB` : 'default memory ceiling'}`,
    `- a model the sandbox engine cannot run: ${s.onUnsupported === 'warn' ? 'warn and go on' : 'fail the release'}`,
    `- plugins: ${s.plugins?.length ? s.plugins.map((p) => `${code(p.path)}${p.function ? ` (${code(p.function)})` : ''}`).join(', ') : 'none'}`,
  ];
}

function canaryLines(request: ReleaseRequest): string[] {
  if (request.canary === false) return ['No deployment (`canary: false`): the release ends with its verified bundle.'];
  const plan = resolveCanaryPlan(request.canary, request.name);
  const lead = request.canary === undefined
    ? 'The default plan, if the worker has a serving runtime (otherwise the release ends after smoke):'
    : 'The plan (as resolved from the request):';
  // Shown merged with the defaults; the workflow itself rejects an invalid policy.
  const policy = { ...DEFAULT_CANARY_POLICY, ...plan.policy };
  return [
    lead,
    '',
    `- steps: ${planSteps(plan)}`,
    `- serving model ${code(plan.model)}, shadow traffic ${plan.shadow ? 'on (prediction agreement gates)' : 'off'}`,
    `- too little traffic: extend the bake up to ${plan.maxExtensions} times, then wait for an operator; approvals time out after ${fmtDuration(plan.approvalTimeoutSeconds)} (abort)`,
    `- policy: ${Object.entries(policy).map(([k, v]) => `${k} ${v === null ? 'none' : v}`).join(', ')}`,
  ];
}

/** "10% → bake 1m → 50% → bake 1m → promote". */
export function planSteps(plan: Pick<ResolvedCanaryPlan, 'steps' | 'approvalTimeoutSeconds'>): string {
  // Defensive: a plan read from a file is shown as given; the workflow rejects invalid ones.
  const step = (s: CanaryStep): string =>
    'setWeight' in s
      ? `${s.setWeight}%`
      : 'bakeSeconds' in s
        ? `bake ${fmtDuration(s.bakeSeconds)}`
        : 'pause' in s && s.pause
          ? `pause (up to ${fmtDuration(s.pause.timeoutSeconds ?? plan.approvalTimeoutSeconds)})`
          : JSON.stringify(s);
  return [...plan.steps.map(step), 'promote'].join(' → ');
}
