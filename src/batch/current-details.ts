/**
 * The batch's live "current details" (markdown, Web UI run page): where it is, the totals, and
 * the entries worth a look — failed, rolled back and running ones first. Pure; rendered by the
 * workflow on every change.
 */
import { cell, code, oneLine, truncateUtf8 } from '../release/markdown.js';
import type { BatchStatus, EntryResult } from './types.js';

const MAX_BYTES = 20_000;
/** Below this many entries every one is listed; above, only those that need attention. */
const LIST_ALL_UP_TO = 60;
const MAX_ROWS = 120;
const MAX_REASON_CHARS = 160;

export function renderBatchDetails(status: BatchStatus): string {
  const t = status.totals;
  const head = [
    `**batch ${oneLine(status.batchId)}**`,
    `state **${status.state}**`,
    `wave **${status.wave}** of ${status.waves}`,
    `run ${status.run}`,
    `${t.entries - t.pending - t.running} of ${t.entries} entries done`,
  ].join(' · ');
  const lines = [
    head,
    '',
    '| released | promoted | rolled back | failed | skipped | running | pending | already existed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${t.released} | ${t.promoted} | ${t.rolledBack} | ${t.failed} | ${t.skipped} | ${t.running} | ${t.pending} | ${t.existing} |`,
    '',
  ];
  if (status.halted) lines.push(`**Halted** (${status.halted.mode}) at ${status.halted.at}: ${oneLine(status.halted.reason)}`, '');
  const attention = (e: EntryResult) => e.outcome === 'failed' || e.outcome === 'rolled_back' || e.outcome === 'running';
  const rows = status.entries.length <= LIST_ALL_UP_TO ? status.entries : status.entries.filter(attention);
  if (rows.length) {
    lines.push(
      status.entries.length <= LIST_ALL_UP_TO ? '#### Entries' : '#### Entries that need a look (failed, rolled back, running)',
      '',
      '| # | wave | release | outcome | reason |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const e of rows.slice(0, MAX_ROWS)) {
      const reason = e.reason ? cell(oneLine(e.reason).slice(0, MAX_REASON_CHARS)) : '';
      lines.push(`| ${e.index + 1} | ${e.wave} | ${code(e.releaseId)} | ${e.outcome}${e.existing ? ' (existed)' : ''} | ${reason} |`);
    }
    if (rows.length > MAX_ROWS) lines.push('', `… and ${rows.length - MAX_ROWS} more (see the batchStatus query).`);
  }
  return truncateUtf8(lines.join('\n') + '\n', MAX_BYTES);
}
