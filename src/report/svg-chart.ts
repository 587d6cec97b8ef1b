/**
 * Small inline SVG line charts for the release report: no scripts, no fonts to fetch, readable
 * without JavaScript and when printed. Points are plotted at each x (analysis), missing
 * values (null) break the line.
 */
import { escapeHtml } from './html-escape.js';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly values: ReadonlyArray<number | null>;
  /** Dashed line (e.g. the stable baseline). */
  readonly dashed?: boolean;
}

export interface LineChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabels: readonly string[];
  readonly series: readonly ChartSeries[];
  readonly formatY: (value: number) => string;
  /** Lowest y shown (default: 0). */
  readonly yMin?: number;
  /** Highest y shown at least (e.g. 1% for an error rate). */
  readonly yMaxAtLeast?: number;
  /** Highest y shown, exactly (e.g. 100% for an agreement rate). */
  readonly yMax?: number;
}

const WIDTH = 640;
const HEIGHT = 260;
const PAD = { left: 64, right: 16, top: 34, bottom: 56 };

export function lineChart(spec: LineChartSpec): string {
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const yMin = spec.yMin ?? 0;
  let yMax = Math.max(spec.yMaxAtLeast ?? 0, ...values, yMin);
  if (yMax <= yMin) yMax = yMin + 1;
  yMax = spec.yMax ?? yMin + (yMax - yMin) * 1.1; // headroom above the highest point
  const n = Math.max(spec.xLabels.length, 1);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (n === 1 ? plotW / 2 : (plotW * i) / (n - 1));
  const y = (v: number) => PAD.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const fmt = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = yMin + ((yMax - yMin) * t) / 4;
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}"/>`);
    parts.push(`<text class="tick" x="${PAD.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${escapeHtml(spec.formatY(v))}</text>`);
  }
  spec.xLabels.forEach((label, i) => {
    // The outermost labels lean inwards so they stay inside the chart.
    const anchor = n === 1 ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    parts.push(`<text class="tick" x="${fmt(x(i))}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="${anchor}">${escapeHtml(label)}</text>`);
  });
  for (const s of spec.series) {
    const segments: string[][] = [[]];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) segments.push([]);
      else segments.at(-1)!.push(`${fmt(x(i))},${fmt(y(v))}`);
    });
    for (const points of segments.filter((p) => p.length > 1)) {
      parts.push(`<polyline fill="none" stroke="${escapeHtml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>`);
    }
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      parts.push(`<circle cx="${fmt(x(i))}" cy="${fmt(y(v))}" r="3.5" fill="${escapeHtml(s.color)}"><title>${escapeHtml(`${s.label}: ${spec.formatY(v)} (${spec.xLabels[i] ?? ''})`)}</title></circle>`);
    });
  }
  // Legend under the axis labels.
  let lx = PAD.left;
  for (const s of spec.series) {
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${HEIGHT - 14}" y2="${HEIGHT - 14}" stroke="${escapeHtml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text class="legend" x="${lx + 22}" y="${HEIGHT - 10}">${escapeHtml(s.label)}</text>`);
    lx += 30 + s.label.length * 7;
  }
  return [
    `<svg class="chart" id="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(spec.title)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${escapeHtml(spec.title)}</title>`,
    `<text class="chart-title" x="${PAD.left}" y="20">${escapeHtml(spec.title)}</text>`,
    `<line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${HEIGHT - PAD.bottom}"/>`,
    `<line class="axis" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${HEIGHT - PAD.bottom}" y2="${HEIGHT - PAD.bottom}"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
