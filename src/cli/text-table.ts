/**
 * Plain-text tables for the terminal: columns as wide as their widest cell, the last column
 * cut to fit `maxWidth` (so a long digest never wraps the table). No colours: the output is
 * read in terminals, CI logs and pasted into tickets alike.
 */
export interface TextTableOptions {
  /** Total width to fit (default: the terminal's, else 120). */
  readonly maxWidth?: number;
  /** Columns whose cells are right-aligned (numbers). */
  readonly alignRight?: readonly number[];
}

export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TextTableOptions = {}): string[] {
  const maxWidth = options.maxWidth ?? (process.stdout.columns || 120);
  const all = [header, ...rows].map((r) => header.map((_, i) => oneLine(r[i] ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const fixed = widths.slice(0, -1).reduce((n, w) => n + w + 2, 0);
  widths[widths.length - 1] = Math.max(10, Math.min(widths.at(-1)!, maxWidth - fixed));
  const right = new Set(options.alignRight ?? []);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i]!;
        const text = c.length > w ? `${c.slice(0, w - 1)}…` : c;
        return i === cells.length - 1 ? text : right.has(i) ? text.padStart(w) : text.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)];
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** 1234 ms → "1.2s", 95 s → "1m35s". */
export function fmtElapsed(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const [hh, mm, ss] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return hh ? `${hh}h${String(mm).padStart(2, '0')}m` : `${mm}m${String(ss).padStart(2, '0')}s`;
}
