/**
 * What the Web UI shows for a batch from its start (CLI start, schedule action): the one-line
 * static summary and the static details (settings and the entries), plus the start options.
 * Each child release gets its own from src/release/start-metadata.ts. Pure.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { planSteps, STATIC_DETAILS_MAX_BYTES, STATIC_SUMMARY_MAX_BYTES } from '../release/start-metadata.js';
import { resolveCanaryPlan } from '../canary/plan.js';
import { baseName, cell, code, fmtDuration, oneLine, truncateUtf8 } from '../release/markdown.js';
import { BatchId, BatchStage } from '../search-attributes.js';
import { batchWorkflowId } from './ids.js';
import { waveOf, wavesOf } from './ledger.js';
import { modelSourcePath } from '../release/model-source.js';
import type { BatchInput, Rollout, RolloutEntry } from './types.js';

/** Rows of the entries table in the static details; the rest are counted. */
const MAX_ENTRY_ROWS = 200;

export interface BatchStartOptions {
  readonly workflowId: string;
  readonly args: [BatchInput];
  readonly staticSummary: string;
  readonly staticDetails: string;
  readonly typedSearchAttributes: SearchAttributePair[];
}

export function batchStartOptions(rollout: Rollout, batchId: string): BatchStartOptions {
  return {
    workflowId: batchWorkflowId(batchId),
    args: [{ rollout }],
    staticSummary: batchSummary(rollout, `batch ${batchId}`),
    staticDetails: batchDetails(rollout, `Batch ${batchId}`),
    typedSearchAttributes: [
      { key: BatchId, value: batchId },
      { key: BatchStage, value: 'running' },
    ],
  };
}

/** "batch nightly-7 · 21 models in 5 waves of 5 · nightly.yaml" (≤ 200 bytes). */
export function batchSummary(rollout: Rollout, label: string): string {
  const waves = wavesOf(rollout);
  const parts = [label, `${rollout.entries.length} model${rollout.entries.length === 1 ? '' : 's'} in ${waves} wave${waves === 1 ? '' : 's'} of ${rollout.waveSize}`, rollout.file ? baseName(rollout.file) : rollout.name];
  return truncateUtf8(oneLine(parts.join(' · ')), STATIC_SUMMARY_MAX_BYTES);
}

export function batchDetails(rollout: Rollout, title: string): string {
  const halt = rollout.halt;
  const threshold = [
    ...(halt.maxFailures !== undefined ? [`more than ${halt.maxFailures} failed or rolled back`] : []),
    ...(halt.maxFailureFraction !== undefined ? [`more than ${+(halt.maxFailureFraction * 100).toFixed(2)}% of the entries failed or rolled back`] : []),
  ];
  const rows: Array<[string, string]> = [
    ['rollout', `${code(rollout.name)}${rollout.file ? ` from ${code(rollout.file)}` : ''}`],
    ['models', String(rollout.entries.length)],
    ['waves', `${wavesOf(rollout)} of ${rollout.waveSize}, ${Math.min(rollout.concurrency, rollout.waveSize)} at once; pause ${fmtDuration(rollout.pauseBetweenWavesSeconds)} between waves`],
    ['halt', threshold.length ? `when ${threshold.join(' or ')}; then running releases are ${halt.onHalt === 'abort' ? 'aborted (canaries roll back)' : 'let finish'}` : 'never (no threshold)'],
    ['versions already released', rollout.rerunFailed ? 'skipped; failed or rolled-back ones are released again' : 'skipped, whatever their outcome'],
    ['continue-as-new', `every ${rollout.continueAsNewEveryWaves} waves`],
    ['signing key', code(rollout.signingKeyPath)],
    ['requested by', code(rollout.requestedBy ?? 'unknown')],
  ];
  const shown = rollout.entries.slice(0, MAX_ENTRY_ROWS);
  return truncateUtf8(
    [
      `### ${oneLine(title)}`,
      '',
      '| | |',
      '| --- | --- |',
      ...rows.map(([k, v]) => `| ${k} | ${v} |`),
      '',
      '#### Models',
      '',
      '| # | wave | model | source | canary |',
      '| --- | --- | --- | --- | --- |',
      ...shown.map((e, i) => `| ${i + 1} | ${waveOf(rollout, i)} | ${code(`${e.name}@${e.version}`)} | ${code(baseName(modelSourcePath(e.source)))} | ${canaryCell(e)} |`),
      ...(rollout.entries.length > shown.length ? ['', `… and ${rollout.entries.length - shown.length} more.`] : []),
      '',
    ].join('\n'),
    STATIC_DETAILS_MAX_BYTES,
  );
}

function canaryCell(entry: RolloutEntry): string {
  if (entry.canary === false) return 'no deployment';
  if (entry.canary === undefined) return 'default (when the worker serves)';
  return cell(planSteps(resolveCanaryPlan(entry.canary, entry.name)));
}
