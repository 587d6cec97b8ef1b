/**
 * The release report as one self-contained HTML page: inline CSS and inline SVG, no scripts,
 * fonts or anything fetched, so it can be archived, mailed or attached to an audit as is.
 * Every value from history goes through escapeHtml (an operator's abort reason is free text).
 */
import { fmtChange, fmtMs, fmtP, fmtPct } from '../canary/analysis/format.js';
import { fmtDuration } from '../release/markdown.js';
import { escapeHtml as h } from './html-escape.js';
import type { ReleaseReport, ReportAnalysis, ReportStage } from './release-report.js';
import { lineChart } from './svg-chart.js';

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1100px; color: #1d2330; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #d8dce4; padding-bottom: 4px; }
.sub { color: #5a6375; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.s-succeeded, .s-promoted, .s-released, .s-pass { background: #dcf5e3; color: #17612f; }
.s-failed, .s-rolled_back, .s-fail, .s-terminated, .s-timed_out, .s-canceled { background: #fde2e1; color: #8d1b17; }
.s-running, .s-pending, .s-inconclusive, .s-paused { background: #fff3cd; color: #6b5200; }
.s-skipped, .s-not-reached { background: #eceff3; color: #4b5263; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { border: 1px solid #e6e9ef; border-radius: 6px; background: #fff; max-width: 100%; height: auto; }
svg .grid { stroke: #eef0f4; } svg .axis { stroke: #9aa2b1; } svg text { font: 11px system-ui, sans-serif; fill: #4b5263; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #1d2330; }
.muted { color: #6b7385; }
`;

export function renderReportHtml(report: ReleaseReport, generatedAt = new Date().toISOString()): string {
  const title = report.request ? `${report.request.name}@${report.request.version}` : report.releaseId;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Release report ${h(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<h1>Release ${h(title)} <span class="badge s-${h(report.outcome)}" id="outcome">${h(report.outcome.replace('_', ' '))}</span></h1>`,
    `<p class="sub">${h(report.releaseId)}${report.runId ? ` · run <code>${h(report.runId)}</code>` : ''} · report generated ${h(generatedAt)}</p>`,
    overview(report),
    stagesSection(report.stages),
    verificationSection(report),
    canarySection(report),
    decisionsSection(report),
    filesSection(report),
    '</body></html>',
    '',
  ].join('\n');
}

function overview(r: ReleaseReport): string {
  const rows: Array<[string, string]> = [];
  if (r.staticSummary) rows.push(['summary', h(r.staticSummary)]);
  if (r.traceId) rows.push(['trace', `<code>${h(r.traceId)}</code>`]);
  if (r.request) {
    rows.push(['source', `<code>${h(r.request.source)}</code>`]);
    if (r.request.requestedBy) rows.push(['requested by', h(r.request.requestedBy)]);
    if (r.request.batchId) rows.push(['batch', `<code>${h(r.request.batchId)}</code>`]);
  }
  rows.push(['started', h(r.startedAt ?? '')]);
  if (r.closedAt) rows.push(['ended', `${h(r.closedAt)} (after ${h(duration(r.durationMs))})`]);
  if (r.outcomeMessage) rows.push(['why it ended so', h(r.outcomeMessage)]);
  if (r.digests.rootDigest) rows.push(['root digest', `<code>sha256:${h(r.digests.rootDigest)}</code>`]);
  return `<table id="overview">${rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function stagesSection(stages: readonly ReportStage[]): string {
  const rows = stages.map((s) => {
    const figures = Object.entries(s.figures).map(([k, v]) => `${h(k)} <code>${h(v)}</code>`).join('<br>');
    const error = s.error ? `<br><strong>${h(s.error.type)}</strong>: ${h(s.error.message)}` : '';
    return (
      `<tr data-stage="${h(s.name)}"><td>${h(s.name)}</td><td><span class="badge s-${h(s.state.replace(' ', '-'))}">${h(s.state)}</span></td>` +
      `<td>${h(s.startedAt ?? '')}</td><td class="num">${h(duration(s.durationMs))}</td><td class="num">${h(s.attempts || '')}</td><td>${figures}${error}</td></tr>`
    );
  });
  return [
    '<h2>Stages</h2>',
    '<table id="stages"><thead><tr><th>stage</th><th>state</th><th>started</th><th>took</th><th>attempts</th><th>figures</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
    '<p class="muted">Times are from the workflow history: an activity stage runs from its scheduling to its last result; the canary stage lasts until the release ends (bakes are durable timers).</p>',
  ].join('\n');
}

function verificationSection(r: ReleaseReport): string {
  const out = ['<h2>Verification</h2>'];
  const rows: Array<[string, string]> = [];
  if (r.signature) rows.push(['JWS signed by', r.signature.kids.map((k) => `<code>${h(k)}</code>`).join('<br>') + ` <span class="muted">(${h(r.signature.alg)}, ${h(r.signature.typ)})</span>`]);
  if (r.digests.manifestSha256) rows.push(['model.yaml sha256', `<code>${h(r.digests.manifestSha256)}</code>`]);
  if (r.attestation) rows.push(['provenance', `${h(r.attestation.predicateType)}, subject <code>${h(r.attestation.subject)}</code>, kid <code>${h(r.attestation.kid)}</code>`]);
  const v = r.verification;
  if (v) {
    rows.push(['verified by', `${h(v.mode)} <code>${h(v.trustSource)}</code> at ${h(v.at)}`]);
    rows.push(['trust rule', `${h(v.rule)}: ${h(v.counted)} of ${h(v.threshold)} required signature(s) counted`]);
    rows.push(['counted kids', v.countedKids.map((k) => `<code>${h(k)}</code>`).join('<br>')]);
    rows.push(['signatures', v.signatures.map((s) => `<code>${h(s.kid ?? '?')}</code> ${h(s.status)}${s.reason ? ` (${h(s.reason)})` : ''}`).join('<br>')]);
    rows.push(['checks passed', v.checks.map(h).join(', ')]);
    rows.push(['verified root digest', `<code>sha256:${h(v.rootDigest)}</code>`]);
  }
  if (r.smoke) {
    const s = r.smoke;
    rows.push(['smoke test', `<span class="badge s-${s.result === 'PASSED' ? 'pass' : 'inconclusive'}">${h(s.result)}</span> max abs diff ${h(s.maxAbsDiff.toExponential(2))} (tolerance ${h(s.tolerance.absolute)}), max rel diff ${h(s.maxRelDiff.toExponential(2))}; sandbox ${h(s.sandboxMs)} ms, native ${h(s.nativeMs)} ms`]);
    rows.push(['outputs', s.outputs.map((o) => `<code>${h(o)}</code>`).join(', ')]);
    for (const p of s.plugins) rows.push(['plugin', `<code>${h(p.path)}</code> ${p.passed ? 'passed' : 'failed'}: ${h(p.message)}`]);
    if (s.warning) rows.push(['warning', h(s.warning)]);
  }
  if (!rows.length) out.push('<p class="muted">No verification recorded (the release did not get that far).</p>');
  else out.push(`<table id="verification">${rows.map(([k, val]) => `<tr><th>${h(k)}</th><td>${val}</td></tr>`).join('')}</table>`);
  return out.join('\n');
}

function canarySection(r: ReleaseReport): string {
  const c = r.canary;
  if (!c) return '<h2>Canary</h2><p class="muted">No canary: the release was not deployed.</p>';
  const head = `<h2>Canary${c.model ? ` of <code>${h(c.model)}</code>` : ''}</h2>`;
  if (c.firstVersion) return `${head}<p>First version of the model: deployed straight to stable, nothing to compare with.</p>`;
  if (!c.analyses.length) return `${head}<p class="muted">No analysis ran (the canary ended before its first bake was judged).</p>`;
  const a = c.analyses;
  const labels = a.map((x, i) => `#${i + 1} ${h(x.weight)}% ${x.at.slice(11, 19)}`);
  const ms = (v: number) => `${fmtMs(v)} ms`;
  const charts = [
    lineChart({
      id: 'chart-latency',
      title: 'Latency percentiles: canary vs stable',
      xLabels: labels,
      formatY: ms,
      series: [
        { label: 'stable p50', color: '#6b8fd6', dashed: true, values: a.map((x) => x.stable.p50Ms) },
        { label: 'stable p99', color: '#2a4d9b', dashed: true, values: a.map((x) => x.stable.p99Ms) },
        { label: 'canary p50', color: '#f0a35c', values: a.map((x) => x.canary.p50Ms) },
        { label: 'canary p99', color: '#c2571a', values: a.map((x) => x.canary.p99Ms) },
      ],
    }),
    lineChart({
      id: 'chart-errors',
      title: 'Error rate: canary vs stable',
      xLabels: labels,
      formatY: (v) => fmtPct(v, 2),
      yMaxAtLeast: 0.01,
      series: [
        { label: 'stable', color: '#2a4d9b', dashed: true, values: a.map((x) => x.stable.errorRate) },
        { label: 'canary', color: '#c2571a', values: a.map((x) => x.canary.errorRate) },
      ],
    }),
    lineChart({
      id: 'chart-agreement',
      title: 'Prediction agreement (shadow traffic)',
      xLabels: labels,
      formatY: (v) => fmtPct(v),
      yMax: 1,
      series: [{ label: 'agreement', color: '#17612f', values: a.map((x) => x.agreementRate) }],
    }),
  ];
  return [head, `<div class="charts">${charts.join('\n')}</div>`, analysesTable(a)].join('\n');
}

function analysesTable(analyses: readonly ReportAnalysis[]): string {
  const rows = analyses.map((x, i) => {
    const checks = x.checks.map((c) => `<span class="badge s-${h(c.status)}">${h(c.check)}</span> ${h(c.message)}`).join('<br>');
    return (
      `<tr><td>#${i + 1}</td><td>${h(x.at)}</td><td class="num">${h(x.weight)}%</td><td><span class="badge s-${h(x.verdict)}">${h(x.verdict)}</span></td>` +
      `<td class="num">${h(x.stable.requests)} / ${h(x.canary.requests)}</td><td class="num">${h(fmtMs(x.stable.p99Ms))} / ${h(fmtMs(x.canary.p99Ms))} ms</td>` +
      `<td class="num">${h(fmtPct(x.stable.errorRate, 2))} / ${h(fmtPct(x.canary.errorRate, 2))}</td><td class="num">${h(fmtPct(x.agreementRate))} (${h(x.shadowComparisons)})</td>` +
      `<td class="num">${h(fmtChange(x.latencyShift))}, p=${h(fmtP(x.pValue))}</td><td>${checks}</td></tr>`
    );
  });
  return [
    '<table id="analyses"><thead><tr><th></th><th>judged at</th><th>weight</th><th>verdict</th><th>requests stable / canary</th><th>p99 stable / canary</th><th>errors stable / canary</th><th>agreement</th><th>latency shift</th><th>checks</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

function decisionsSection(r: ReleaseReport): string {
  if (!r.decisions.length) return '<h2>Decision log</h2><p class="muted">No canary decisions.</p>';
  const rows = r.decisions.map(
    (d) => `<tr><td>${h(d.at)}</td><td class="num">${h(d.weight)}%</td><td>${h(d.kind)}${d.verdict ? ` <span class="badge s-${h(d.verdict)}">${h(d.verdict)}</span>` : ''}</td><td>${h(d.summary)}</td></tr>`,
  );
  return ['<h2>Decision log</h2>', '<table id="decisions"><thead><tr><th>at</th><th>weight</th><th>decision</th><th>with the figures</th></tr></thead>', `<tbody>${rows.join('\n')}</tbody></table>`].join('\n');
}

function filesSection(r: ReleaseReport): string {
  if (!r.digests.files.length) return '';
  const rows = r.digests.files.map((f) => `<tr><td><code>${h(f.path)}</code></td><td class="num">${h(f.size)}</td><td><code>${h(f.sha256)}</code></td></tr>`);
  return [
    '<h2>Files</h2>',
    `<p>${h(r.digests.files.length)} file(s), ${h(r.digests.totalBytes ?? 0)} bytes${r.digests.rule ? `, digest rule ${h(r.digests.rule)}` : ''}.</p>`,
    '<table id="files"><thead><tr><th>path</th><th>bytes</th><th>sha256</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

function duration(ms: number | undefined): string {
  return ms === undefined ? '' : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : fmtDuration(ms / 1000);
}
