/**
 * Progress of a release while `modelship release` follows it: the hash stage's bytes (from the
 * activity's heartbeat details, which the server keeps on the pending activity) and the canary's
 * steps (from the status query). On a terminal they are bars redrawn in place under the stage
 * lines; otherwise (CI logs, pipes) plain lines, only when something moved enough to say so.
 */
import type { Payload } from '@temporalio/common';
import { decodePayload } from '../report/release-report.js';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { HashCheckpoint } from '../activities/hash-bundle.js';
import type { CanaryPhase, ReleaseStatus } from '../release/stages.js';

export interface HashProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface CanaryProgress {
  readonly model: string;
  /** 0-based index of the step under way; equals `steps` once past the last. */
  readonly step: number;
  readonly steps: number;
  readonly weight: number;
  readonly phase: CanaryPhase;
}

/** The hash activity's latest checkpoint as the server has it (undefined before its first heartbeat). */
export function hashProgressOf(description: Pick<WorkflowExecutionDescription, 'raw'>): HashProgress | undefined {
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'hashBundle');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  const { bytesDone, bytesTotal } = (decodePayload(payload as Payload) ?? {}) as Partial<HashCheckpoint>;
  if (typeof bytesDone !== 'number' || typeof bytesTotal !== 'number' || !(bytesTotal >= 0)) return undefined;
  return { bytesDone, bytesTotal };
}

export function canaryProgressOf(status: ReleaseStatus): CanaryProgress | undefined {
  const c = status.canary;
  if (!c) return undefined;
  return { model: c.model, step: c.phase === 'promoted' ? c.steps : c.step, steps: c.steps, weight: c.weight, phase: c.phase };
}

export interface ProgressView {
  /** A line that stays (a stage finished, a canary decision). */
  line(text: string): void;
  hash(progress: HashProgress | undefined): void;
  canary(progress: CanaryProgress | undefined): void;
  /** Leaves the terminal clean (bars removed). */
  end(): void;
}

export function progressView(stream: NodeJS.WriteStream = process.stdout): ProgressView {
  return stream.isTTY ? new TtyProgressView(stream) : new PlainProgressView(stream);
}

/** Nothing at all (--json: stdout carries only the result). */
export const silentProgress: ProgressView = { line: () => undefined, hash: () => undefined, canary: () => undefined, end: () => undefined };

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

const fraction = (p: HashProgress) => (p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1);
const percent = (f: number) => `${Math.floor(f * 100)}%`;

export function hashLine(p: HashProgress): string {
  return `${percent(fraction(p))}  ${fmtBytes(p.bytesDone)} of ${fmtBytes(p.bytesTotal)}`;
}

export function canaryLine(p: CanaryProgress): string {
  const step = p.step >= p.steps ? `all ${p.steps} steps done` : `step ${p.step + 1} of ${p.steps}`;
  return `${step}, ${p.weight}% of traffic: ${p.phase}`;
}

/** Plain lines: hashing at each 10% it crosses, the canary when its step, weight or phase changes. */
class PlainProgressView implements ProgressView {
  private hashDecile = -1;
  private lastCanary = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}

  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
  hash(p: HashProgress | undefined): void {
    if (!p) return;
    const decile = Math.floor(fraction(p) * 10);
    if (decile <= this.hashDecile) return;
    this.hashDecile = decile;
    this.line(`  ...  hash    ${hashLine(p)}`);
  }
  canary(p: CanaryProgress | undefined): void {
    if (!p) return;
    const text = canaryLine(p);
    if (text === this.lastCanary) return;
    this.lastCanary = text;
    this.line(`  ...  canary  ${text}`);
  }
  end(): void {}
}

/** Bars on the bottom line(s), redrawn in place; lines that stay are written above them. */
class TtyProgressView implements ProgressView {
  private hashBar: HashProgress | undefined;
  private canaryBar: CanaryProgress | undefined;
  private drawn = 0;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  line(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
    this.draw();
  }
  hash(p: HashProgress | undefined): void {
    this.hashBar = p;
    this.redraw();
  }
  canary(p: CanaryProgress | undefined): void {
    // A finished canary keeps no bar: its decisions and the result say how it ended.
    this.canaryBar = p && p.phase !== 'promoted' && p.phase !== 'rolled-back' ? p : undefined;
    this.redraw();
  }
  end(): void {
    this.clear();
  }

  private bars(): string[] {
    const width = Math.max(10, Math.min(30, (this.stream.columns || 80) - 50));
    const out: string[] = [];
    if (this.hashBar) out.push(`  hash    ${bar(fraction(this.hashBar), width)} ${hashLine(this.hashBar)}`);
    if (this.canaryBar) out.push(`  canary  ${bar(this.canaryBar.step / Math.max(1, this.canaryBar.steps), width)} ${canaryLine(this.canaryBar)}`);
    const columns = this.stream.columns || 80;
    return out.map((l) => (l.length >= columns ? l.slice(0, columns - 1) : l));
  }
  private clear(): void {
    // Up to the first bar line, then clear to the end of the screen.
    if (this.drawn > 0) this.stream.write(`\r${this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : ''}\x1b[0J`);
    this.drawn = 0;
  }
  private draw(): void {
    const lines = this.bars();
    if (!lines.length) return;
    this.stream.write(lines.join('\n'));
    this.drawn = lines.length;
  }
  private redraw(): void {
    this.clear();
    this.draw();
  }
}
