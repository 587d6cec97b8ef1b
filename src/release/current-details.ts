/**
 * The release's live "current details" (markdown) that the Web UI shows on the run page:
 * where it is, how far it got, the stage figures and the latest canary figures. Rendered by
 * the workflow on every change; pure and deterministic (workflow-clock timestamps only).
 */
import { fmtChange, fmtMs, fmtP, fmtPct } from '../canary/analysis/format.js';
import type { Judgement, SlotMetrics } from '../canary/analysis/types.js';
import { cell, code, oneLine, truncateUtf8 } from './markdown.js';
import type { CanaryStatus, ReleaseStageValue, ReleaseStatus, ReleaseVerdict, StageState } from './stages.js';

export interface CurrentDetailsInput {
  readonly status: ReleaseStatus;
  readonly stage: ReleaseStageValue;
  readonly verdict: ReleaseVerdict;
  readonly canaryWeight?: number;
}

const MAX_BYTES = 20_000;
const MAX_DECISIONS = 8;
const MAX_FIGURE_CHARS = 120;

export function renderCurrentDetails(input: CurrentDetailsInput): string {
  const { status } = input;
  const done = status.stages.filter((s) => s.state.status === 'succeeded' || s.state.status === 'skipped').length;
  const head = [
    `**${oneLine(status.name)}@${oneLine(status.version)}**`,
    `stage **${input.stage}**`,
    `verdict **${input.verdict}**`,
    ...(input.canaryWeight !== undefined ? [`canary weight **${input.canaryWeight}%**`] : []),
    `${done} of ${status.stages.length} stages done`,
  ].join(' · ');
  const lines = [head, '', outcomeLine(status), '', '| stage | state | took | figures |', '| --- | --- | --- | --- |'];
  for (const { name, state } of status.stages) lines.push(`| ${name} | ${stateCell(state)} | ${took(state)} | ${figures(state)} |`);
  if (status.canary) lines.push('', ...canaryLines(status.canary));
  return truncateUtf8(lines.join('\n') + '\n', MAX_BYTES);
}

function outcomeLine(status: ReleaseStatus): string {
  const o = status.outcome;
  if (o.state === 'released') return `Released: bundle ${code(o.bundleDir)}, root digest ${code(`sha256:${o.rootDigest}`)}.`;
  if (o.state === 'failed') return `Failed at **${o.stage}**: ${code(o.error.type)} ${oneLine(o.error.message)}`;
  return `Running: **${o.stage}**.`;
}

function stateCell(state: StageState): string {
  switch (state.status) {
    case 'succeeded':
      return '✅ succeeded';
    case 'failed':
      return `❌ failed: ${code(state.error.type)} ${cell(state.error.message)}`;
    case 'running':
      return '⏳ running';
    case 'skipped':
      return `⏭ skipped: ${cell(state.reason)}`;
    default:
      return 'pending';
  }
}

function took(state: StageState): string {
  if (state.status !== 'succeeded' && state.status !== 'failed') return '';
  const ms = Date.parse(state.finishedAt) - Date.parse(state.startedAt);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '';
}

function figures(state: StageState): string {
  if (state.status !== 'succeeded') return '';
  return Object.entries(state.summary)
    .map(([k, v]) => {
      const text = String(v);
      return `${k} ${code(text.length > MAX_FIGURE_CHARS ? `${text.slice(0, MAX_FIGURE_CHARS)}…` : text)}`;
    })
    .join(', ');
}

function canaryLines(canary: CanaryStatus): string[] {
  const lines = [`#### Canary ${code(canary.model)}: ${canary.phase}, step ${Math.min(canary.step + 1, canary.steps)} of ${canary.steps}, weight ${canary.weight}%`, ''];
  if (canary.lastAnalysis) lines.push(...analysisLines(canary.lastAnalysis.at, canary.lastAnalysis.weight, canary.lastAnalysis.judgement), '');
  const decisions = canary.decisions.slice(-MAX_DECISIONS);
  if (decisions.length) {
    lines.push(`Decisions${canary.decisions.length > decisions.length ? ` (latest ${decisions.length} of ${canary.decisions.length})` : ''}:`, '');
    for (const d of decisions) lines.push(`- ${clock(d.at)} at ${d.weight}%: **${d.kind}**${d.verdict ? ` (${d.verdict})` : ''}: ${oneLine(d.summary)}`);
  }
  return lines;
}

/** The judge's figures: per slot, the latency comparison, agreement, and every check. */
function analysisLines(at: string, weight: number, j: Judgement): string[] {
  const m = j.metrics;
  const slot = (s: SlotMetrics) => [String(s.requests), `${s.errors} (${fmtPct(s.errorRate, 2)})`, `${fmtMs(s.latencyMs?.p50 ?? null)} ms`, `${fmtMs(s.latencyMs?.p99 ?? null)} ms`];
  const [bReq, bErr, bP50, bP99] = slot(m.baseline);
  const [cReq, cErr, cP50, cP99] = slot(m.canary);
  const mw = m.latency.mannWhitney;
  return [
    `Latest analysis (${clock(at)}, canary at ${weight}%): **${j.verdict}**`,
    '',
    '| | stable | canary |',
    '| --- | --- | --- |',
    `| requests | ${bReq} | ${cReq} |`,
    `| errors | ${bErr} | ${cErr} |`,
    `| latency p50 | ${bP50} | ${cP50} |`,
    `| latency p99 | ${bP99} | ${cP99} |`,
    '',
    `Latency shift ${fmtChange(m.latency.relativeEffect)} (Hodges-Lehmann), p=${mw.computed ? fmtP(mw.p) : 'n/a'} (Mann-Whitney, canary slower), p99 ${fmtChange(m.latency.p99RelativeChange)}; ` +
      `prediction agreement ${fmtPct(m.shadow.agreementRate)} of ${m.shadow.comparisons} shadow comparisons.`,
    '',
    ...j.checks.map((c) => `- ${c.status === 'pass' ? '✅' : c.status === 'fail' ? '❌' : '❔'} ${c.check}: ${oneLine(c.message)}`),
  ];
}

/** "12:03:04Z" from an ISO timestamp (the date is on the run page already). */
function clock(iso: string): string {
  const match = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return match ? `${match[1]}Z` : iso;
}
