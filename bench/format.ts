export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / KiB).toFixed(0)} KiB`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 0.1) return `${(seconds * 1000).toFixed(2)} ms`;
  return seconds < 10 ? `${seconds.toFixed(3)} s` : `${seconds.toFixed(2)} s`;
}

export function formatByteRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / MiB).toFixed(0)} MiB/s (${(bytesPerSecond / GiB).toFixed(2)} GiB/s)`;
}

export function formatRate(perSecond: number, unit: string): string {
  if (unit === 'bytes') return formatByteRate(perSecond);
  return `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(2)} ${unit}/s`;
}

export function formatRss(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Aligned pipe table; numeric-looking columns are right-aligned. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], rightAlign: readonly boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number): string => (rightAlign[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAlign[i] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
}
