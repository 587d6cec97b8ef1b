/**
 * Small text helpers for what the Web UI shows (static and current details, summaries).
 * Pure and free of Node APIs: they run inside workflows too.
 */

/** Inline code that survives a markdown table cell: no backticks, no line breaks, pipes escaped. */
export function code(text: string): string {
  return `\`${cell(text.replace(/`/g, "'"))}\``;
}

/** Text for a markdown table cell: one line, pipes escaped. */
export function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

/** Plain text for a table cell or a one-line summary. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/** The last segment of a path, '/' or '\\' separated (node:path is not available in workflows). */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** Cuts `text` to at most `maxBytes` of UTF-8, whole code points only, ending with '…' when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  for (const ch of text) bytes += utf8Length(ch.codePointAt(0)!);
  if (bytes <= maxBytes) return text;
  const budget = maxBytes - 3; // '…' is 3 bytes
  let out = '';
  bytes = 0;
  for (const ch of text) {
    const n = utf8Length(ch.codePointAt(0)!);
    if (bytes + n > budget) break;
    out += ch;
    bytes += n;
  }
  return `${out}…`;
}

/** 45 → "45s", 120 → "2m", 90 → "1m30s", 3600 → "1h", 5400 → "1h30m". */
export function fmtDuration(seconds: number): string {
  if (!(seconds >= 60)) return `${Number(seconds.toFixed(3))}s`;
  const total = Math.round(seconds);
  const parts: Array<[number, string]> = [[Math.floor(total / 3600), 'h'], [Math.floor((total % 3600) / 60), 'm'], [total % 60, 's']];
  return parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join('');
}
