/**
 * What a user may say about smoke inputs and tolerances, in the release request, a rollout file
 * or a schedule (all small JSON: names and numbers, never tensor bytes), with one validator for
 * every place that accepts it and the parsers for the CLI's spellings.
 */

/** An inclusive range for generated integer values: token ids 0..30521, bytes 0..255. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** numpy.allclose's pair: an element passes when |sandbox − native| ≤ absolute + relative·|native|. */
export interface ToleranceOption {
  readonly absolute?: number;
  readonly relative?: number;
}

/** The input-shaping fields of SmokeOptions. */
export interface SmokeInputSpec {
  /** Whole shapes by input name: { "x": [1, 3, 224, 224] }. */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** Sizes of symbolic dimensions by name, for every input that uses them: { "batch": 1, "height": 640 }. */
  readonly dims?: Readonly<Record<string, number>>;
  /** The range of generated values for every integer input (default 0..3). */
  readonly intRange?: IntRange;
  /** Per input, overriding intRange. */
  readonly intRanges?: Readonly<Record<string, IntRange>>;
}

/** Largest generated tensor: a typo like 1x3x22400x224 should fail here, not in the sandbox. */
export const MAX_GENERATED_ELEMENTS = 64 * 1024 * 1024;

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDimSize(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export interface SpecProblem {
  /** e.g. "shapes.x" */
  readonly field: string;
  readonly problem: string;
}

/**
 * Every problem with the input-shaping and tolerance fields of a smoke options object, each
 * with its field (prefix it with where it came from). Empty when they are fine.
 */
export function smokeSpecProblems(raw: Obj): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const add = (field: string, problem: string) => problems.push({ field, problem });
  if (raw.shapes !== undefined) {
    if (!isObj(raw.shapes)) add('shapes', 'must be a mapping of input name to a list of sizes, e.g. { x: [1, 3, 224, 224] }');
    else
      for (const [name, shape] of Object.entries(raw.shapes)) {
        if (!Array.isArray(shape) || !shape.every(isDimSize)) add(`shapes.${name}`, `must be a list of whole numbers >= 0, got ${show(shape)}`);
      }
  }
  if (raw.dims !== undefined) {
    if (!isObj(raw.dims)) add('dims', 'must be a mapping of symbolic dimension name to a size, e.g. { batch: 1 }');
    else for (const [name, size] of Object.entries(raw.dims)) if (!isDimSize(size)) add(`dims.${name}`, `must be a whole number >= 0, got ${show(size)}`);
  }
  if (raw.intRange !== undefined) {
    const p = intRangeProblem(raw.intRange);
    if (p) add(`intRange`, `${p}`);
  }
  if (raw.intRanges !== undefined) {
    if (!isObj(raw.intRanges)) add('intRanges', 'must be a mapping of input name to { min, max }');
    else
      for (const [name, range] of Object.entries(raw.intRanges)) {
        const p = intRangeProblem(range);
        if (p) add(`intRanges.${name}`, `${p}`);
      }
  }
  if (raw.dataPath !== undefined && raw.inputsPath !== undefined) {
    add('dataPath', 'give inputs either with inputsPath or with dataPath (inputs and their expected outputs), not both');
  }
  if (raw.tolerance !== undefined) {
    const p = toleranceProblem(raw.tolerance);
    if (p) add(`tolerance`, `${p}`);
  }
  if (raw.outputTolerances !== undefined) {
    if (!isObj(raw.outputTolerances)) add('outputTolerances', 'must be a mapping of output name to { absolute?, relative? }');
    else
      for (const [name, t] of Object.entries(raw.outputTolerances)) {
        const p = toleranceProblem(t);
        if (p) add(`outputTolerances.${name}`, `${p}`);
      }
  }
  return problems;
}

function intRangeProblem(raw: unknown): string | undefined {
  if (!isObj(raw) || Object.keys(raw).some((k) => k !== 'min' && k !== 'max') || !Number.isSafeInteger(raw.min) || !Number.isSafeInteger(raw.max)) {
    return `must be { min: integer, max: integer }, got ${show(raw)}`;
  }
  if ((raw.min as number) > (raw.max as number)) return `min ${raw.min} is above max ${raw.max}`;
  return undefined;
}

function toleranceProblem(raw: unknown): string | undefined {
  if (!isObj(raw) || Object.keys(raw).some((k) => k !== 'absolute' && k !== 'relative') || Object.values(raw).some((v) => !(typeof v === 'number' && Number.isFinite(v) && v >= 0))) {
    return `must be { absolute?: number >= 0, relative?: number >= 0 }, got ${show(raw)}`;
  }
  return undefined;
}

// The CLI's spellings. Each parser returns a value or throws SpecSyntaxError with the flag's usage.

export class SpecSyntaxError extends Error {}

/** `x=1x3x224x224` (also `x=1,3,224,224`; `x=` for a scalar). */
export function parseShapeFlag(text: string): [string, number[]] {
  const [name, value] = nameAndValue(text, '--smoke-shape', 'INPUT=1x3x224x224');
  if (value === '') return [name, []];
  const sizes = value.split(/[x,]/).map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (sizes.some((n) => !Number.isSafeInteger(n))) throw new SpecSyntaxError(`--smoke-shape ${text}: sizes must be whole numbers, as in INPUT=1x3x224x224`);
  return [name, sizes];
}

/** `batch=1`. */
export function parseDimFlag(text: string): [string, number] {
  const [name, value] = nameAndValue(text, '--smoke-dim', 'NAME=SIZE');
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new SpecSyntaxError(`--smoke-dim ${text}: the size must be a whole number, as in batch=1`);
  return [name, Number(value)];
}

/** `0:255` for every integer input, `input_ids=0:30521` for one. */
export function parseIntRangeFlag(text: string): { input?: string; range: IntRange } {
  const eq = text.lastIndexOf('=');
  const input = eq >= 0 ? text.slice(0, eq) : undefined;
  const m = /^(-?\d+):(-?\d+)$/.exec(eq >= 0 ? text.slice(eq + 1) : text);
  if ((input !== undefined && !input) || !m) throw new SpecSyntaxError(`--smoke-int-range ${text}: expected MIN:MAX or INPUT=MIN:MAX, as in 0:255`);
  const range = { min: Number(m[1]), max: Number(m[2]) };
  const problem = intRangeProblem(range);
  if (problem) throw new SpecSyntaxError(`--smoke-int-range ${text}: ${problem}`);
  return input === undefined ? { range } : { input, range };
}

/** `1e-4` (absolute), `1e-4:1e-3` (absolute:relative), `boxes=1e-3:1e-4` for one output. */
export function parseToleranceFlag(text: string): { output?: string; tolerance: { absolute: number; relative?: number } } {
  const eq = text.lastIndexOf('=');
  const output = eq >= 0 ? text.slice(0, eq) : undefined;
  const parts = (eq >= 0 ? text.slice(eq + 1) : text).split(':');
  const numbers = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  if ((output !== undefined && !output) || parts.length > 2 || numbers.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new SpecSyntaxError(`--smoke-tolerance ${text}: expected ATOL, ATOL:RTOL or OUTPUT=ATOL[:RTOL] with numbers >= 0, as in 1e-4 or boxes=1e-3:1e-4`);
  }
  const tolerance = numbers.length === 2 ? { absolute: numbers[0]!, relative: numbers[1]! } : { absolute: numbers[0]! };
  return output === undefined ? { tolerance } : { output, tolerance };
}

function nameAndValue(text: string, flag: string, usage: string): [string, string] {
  const eq = text.lastIndexOf('=');
  if (eq <= 0) throw new SpecSyntaxError(`${flag} ${text}: expected ${usage}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
