/**
 * The rollout file (YAML or JSON), read and validated on the client: every problem is reported
 * at once, each naming the entry and the field, before anything starts. The result is the
 * batch workflow's input: small JSON with absolute paths (relative ones are taken from the
 * file's folder), never model bytes or key material.
 */
import { namesKeyByKid } from '../release/signing-key-name.js';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RolloutFileError } from '../errors/index.js';
import { assertSafeName } from '../release/ids.js';
import { canaryPlanProblems, resolveCanaryPlan, type CanaryPlan } from '../canary/plan.js';
import type { ModelSource, SmokeOptions } from '../release/types.js';
import { smokeSpecProblems } from '../smoke/input-spec.js';
import type { HaltMode, HaltPolicy, Rollout, RolloutEntry } from './types.js';


export const ROLLOUT_DEFAULTS = {
  waveSize: 10,
  pauseBetweenWavesSeconds: 0,
  continueAsNewEveryWaves: 20,
  onHalt: 'abort' as HaltMode,
} as const;

/** Temporal refuses payloads over 2 MB, and continue-as-new carries the outcomes beside the rollout. */
export const MAX_ROLLOUT_JSON_BYTES = 1024 * 1024;

const TOP_KEYS = ['version', 'name', 'signingKeyPath', 'waveSize', 'concurrency', 'pauseBetweenWavesSeconds', 'continueAsNewEveryWaves', 'rerunFailed', 'halt', 'defaults', 'models'];
const HALT_KEYS = ['maxFailures', 'maxFailureFraction', 'onHalt'];
const DEFAULTS_KEYS = ['canary', 'smoke'];
const ENTRY_KEYS = ['name', 'version', 'path', 'exporter', 'exporterTimeoutSeconds', 'allowSymlinks', 'canary', 'smoke', 'signingKeyPath'];
const CANARY_KEYS = ['model', 'steps', 'shadow', 'policy', 'maxExtensions', 'approvalTimeoutSeconds'];
const SMOKE_KEYS = ['seed', 'inputsPath', 'dataPath', 'tolerance', 'outputTolerances', 'shapes', 'dims', 'intRange', 'intRanges', 'timeoutMs', 'maxMemoryMiB', 'onUnsupported', 'plugins'];

export interface RolloutFileOptions {
  /** Used when the file names no signingKeyPath (the CLI's default key). */
  readonly defaultSigningKeyPath?: string;
  readonly requestedBy?: string;
}

export async function readRolloutFile(path: string, options: RolloutFileOptions = {}): Promise<Rollout> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RolloutFileError(`cannot read the rollout file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  return parseRollout(text, { ...options, file });
}

type Obj = Record<string, unknown>;

/** Parses and validates a rollout; `file` names it in errors and anchors relative paths. */
export function parseRollout(text: string, options: RolloutFileOptions & { file: string }): Rollout {
  const { file } = options;
  const baseDir = dirname(file);
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new RolloutFileError(`${file} is not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
  }
  const problems = new Problems();
  if (!isObj(doc)) throw new RolloutFileError(`${file}: expected a mapping with a "models" list at the top level`);

  unknownKeys(doc, TOP_KEYS, 'top level', problems);
  if (doc.version !== undefined && doc.version !== 1) problems.add('version', `must be 1 (the only rollout format so far), got ${show(doc.version)}`);
  const name = doc.name === undefined ? basename(file, extname(file)) : doc.name;
  if (typeof name !== 'string' || !name.trim()) problems.add('name', `must be a non-empty string, got ${show(doc.name)}`);

  const signingKey = doc.signingKeyPath ?? options.defaultSigningKeyPath;
  if (typeof signingKey !== 'string' || !signingKey) problems.add('signingKeyPath', 'must name the encrypted signing key (as the worker sees it)');
  const waveSize = integer(doc.waveSize, ROLLOUT_DEFAULTS.waveSize, 1, 'waveSize', problems);
  const concurrency = integer(doc.concurrency, waveSize, 1, 'concurrency', problems);
  const pause = number(doc.pauseBetweenWavesSeconds, ROLLOUT_DEFAULTS.pauseBetweenWavesSeconds, 0, 'pauseBetweenWavesSeconds', problems);
  const continueAsNewEveryWaves = integer(doc.continueAsNewEveryWaves, ROLLOUT_DEFAULTS.continueAsNewEveryWaves, 1, 'continueAsNewEveryWaves', problems);
  if (doc.rerunFailed !== undefined && typeof doc.rerunFailed !== 'boolean') problems.add('rerunFailed', `must be true or false, got ${show(doc.rerunFailed)}`);
  const halt = haltPolicy(doc.halt, problems);

  let defaults: Obj = {};
  if (doc.defaults !== undefined) {
    if (!isObj(doc.defaults)) problems.add('defaults', 'must be a mapping (canary, smoke)');
    else {
      defaults = doc.defaults;
      unknownKeys(defaults, DEFAULTS_KEYS, 'defaults', problems);
    }
  }

  const entries: RolloutEntry[] = [];
  if (!Array.isArray(doc.models) || doc.models.length === 0) problems.add('models', 'must be a non-empty list of { name, version, path }');
  else {
    const seen = new Map<string, number>();
    doc.models.forEach((raw: unknown, i: number) => {
      const entry = parseEntry(raw, i, defaults, baseDir, problems);
      if (!entry) return;
      const key = `${entry.name}@${entry.version}`;
      const first = seen.get(key);
      if (first !== undefined) problems.add(`models[${i}] (${key})`, `the same version as models[${first}]: a version is released once`);
      else seen.set(key, i);
      entries.push(entry);
    });
  }

  if (problems.list.length) {
    const n = problems.list.length;
    throw new RolloutFileError(`${file}: ${n} problem${n > 1 ? 's' : ''}:\n${problems.list.map((p) => `  - ${p}`).join('\n')}`);
  }
  const rollout: Rollout = {
    name: (name as string).trim(),
    file,
    signingKeyPath: keyPath(signingKey as string, baseDir),
    ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}),
    waveSize,
    concurrency,
    pauseBetweenWavesSeconds: pause,
    halt,
    continueAsNewEveryWaves,
    rerunFailed: doc.rerunFailed === true,
    entries,
  };
  const bytes = Buffer.byteLength(JSON.stringify(rollout));
  if (bytes > MAX_ROLLOUT_JSON_BYTES) {
    throw new RolloutFileError(
      `${file}: ${entries.length} models make ${bytes} bytes of workflow input, more than ${MAX_ROLLOUT_JSON_BYTES} ` +
        '(Temporal payloads are limited to 2 MB and each continue-as-new carries the outcomes too): split it into several rollout files',
    );
  }
  return rollout;
}

function parseEntry(raw: unknown, i: number, defaults: Obj, baseDir: string, problems: Problems): RolloutEntry | undefined {
  if (!isObj(raw)) {
    problems.add(`models[${i}]`, `must be a mapping with name, version and path, got ${show(raw)}`);
    return undefined;
  }
  const label = `models[${i}]${typeof raw.name === 'string' && typeof raw.version === 'string' ? ` (${raw.name}@${raw.version})` : ''}`;
  const at = (field: string) => `${label}: ${field}`;
  const before = problems.list.length;
  unknownKeys(raw, ENTRY_KEYS, label, problems);
  for (const field of ['name', 'version'] as const) {
    const value = raw[field];
    if (typeof value !== 'string') {
      problems.add(at(field), `is required (a string), got ${show(value)}`);
      continue;
    }
    try {
      assertSafeName(field, value);
    } catch (err) {
      problems.add(at(field), (err as Error).message);
    }
  }
  if (typeof raw.path !== 'string' || !raw.path) problems.add(at('path'), 'is required: the ONNX file or model folder (or, with exporter, the training artifact)');
  if (raw.exporter !== undefined && (typeof raw.exporter !== 'string' || !raw.exporter)) problems.add(at('exporter'), `must be an exporter name, got ${show(raw.exporter)}`);
  if (raw.exporterTimeoutSeconds !== undefined && !(typeof raw.exporterTimeoutSeconds === 'number' && raw.exporterTimeoutSeconds > 0)) problems.add(at('exporterTimeoutSeconds'), 'must be a positive number');
  if (raw.allowSymlinks !== undefined && typeof raw.allowSymlinks !== 'boolean') problems.add(at('allowSymlinks'), 'must be true or false');
  if (raw.signingKeyPath !== undefined && (typeof raw.signingKeyPath !== 'string' || !raw.signingKeyPath)) problems.add(at('signingKeyPath'), 'must be a path');

  const canaryRaw = raw.canary !== undefined ? raw.canary : defaults.canary;
  const canaryWhere = raw.canary !== undefined ? at('canary') : `${label}: defaults.canary`;
  const canary = canaryPlan(canaryRaw, typeof raw.name === 'string' ? raw.name : 'model', canaryWhere, problems);
  // An entry's smoke options override the defaults field by field; its canary plan replaces the default one.
  const smokeRaw = raw.smoke === undefined ? defaults.smoke : isObj(raw.smoke) && isObj(defaults.smoke) ? { ...defaults.smoke, ...raw.smoke } : raw.smoke;
  const smoke = smokeOptions(smokeRaw, raw.smoke !== undefined ? at('smoke') : `${label}: defaults.smoke`, baseDir, problems);
  if (problems.list.length > before) return undefined;

  const path = absolute(raw.path as string, baseDir);
  const source: ModelSource = raw.exporter
    ? { kind: 'exporter', exporter: raw.exporter as string, input: path, ...(raw.exporterTimeoutSeconds ? { timeoutSeconds: raw.exporterTimeoutSeconds as number } : {}) }
    : { kind: 'onnx', path, ...(raw.allowSymlinks ? { allowSymlinks: true } : {}) };
  return {
    name: raw.name as string,
    version: raw.version as string,
    source,
    ...(canary !== undefined ? { canary } : {}),
    ...(smoke ? { smoke } : {}),
    ...(raw.signingKeyPath ? { signingKeyPath: keyPath(raw.signingKeyPath as string, baseDir) } : {}),
  };
}

function canaryPlan(raw: unknown, name: string, where: string, problems: Problems): CanaryPlan | false | undefined {
  if (raw === undefined || raw === false) return raw;
  if (!isObj(raw)) {
    problems.add(where, `must be false (no deployment) or a canary plan (steps, policy, ...), got ${show(raw)}`);
    return undefined;
  }
  unknownKeys(raw, CANARY_KEYS, where, problems);
  if (raw.steps !== undefined && !(Array.isArray(raw.steps) && raw.steps.every(isObj))) {
    problems.add(`${where}.steps`, 'must be a list of { setWeight } / { bakeSeconds } / { pause: { timeoutSeconds } }');
    return undefined;
  }
  if (raw.steps?.some((s: Obj) => 'pause' in s && !isObj(s.pause))) {
    problems.add(`${where}.steps`, 'a pause step is { pause: {} } or { pause: { timeoutSeconds: N } }');
    return undefined;
  }
  if (raw.policy !== undefined && !isObj(raw.policy)) {
    problems.add(`${where}.policy`, 'must be a mapping of policy settings');
    return undefined;
  }
  const plan = raw as CanaryPlan;
  for (const p of canaryPlanProblems(resolveCanaryPlan(plan, name))) problems.add(where, p);
  return plan;
}

function smokeOptions(raw: unknown, where: string, baseDir: string, problems: Problems): SmokeOptions | undefined {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) {
    problems.add(where, `must be a mapping of smoke options, got ${show(raw)}`);
    return undefined;
  }
  unknownKeys(raw, SMOKE_KEYS, where, problems);
  const out: { -readonly [K in keyof SmokeOptions]: SmokeOptions[K] } = {};
  if (raw.seed !== undefined) {
    if (!(Number.isSafeInteger(raw.seed) && (raw.seed as number) >= 0)) problems.add(`${where}.seed`, 'must be a whole number >= 0');
    else out.seed = raw.seed as number;
  }
  if (raw.inputsPath !== undefined) {
    if (typeof raw.inputsPath !== 'string') problems.add(`${where}.inputsPath`, 'must be a path');
    else out.inputsPath = absolute(raw.inputsPath, baseDir);
  }
  if (raw.dataPath !== undefined) {
    if (typeof raw.dataPath !== 'string') problems.add(`${where}.dataPath`, 'must be a path (an ONNX test_data_set folder or an .npz)');
    else out.dataPath = absolute(raw.dataPath, baseDir);
  }
  // Shapes, dimension sizes, integer ranges and tolerances: the same validator as the worker's.
  const specProblems = smokeSpecProblems(raw);
  for (const p of specProblems) problems.add(`${where}.${p.field}`, p.problem);
  if (!specProblems.length) {
    for (const key of ['tolerance', 'outputTolerances', 'shapes', 'dims', 'intRange', 'intRanges'] as const) {
      if (raw[key] !== undefined) (out as Obj)[key] = raw[key];
    }
  }
  for (const key of ['timeoutMs', 'maxMemoryMiB'] as const) {
    if (raw[key] === undefined) continue;
    if (!(typeof raw[key] === 'number' && (raw[key] as number) > 0)) problems.add(`${where}.${key}`, 'must be a positive number');
    else out[key] = raw[key] as number;
  }
  if (raw.onUnsupported !== undefined) {
    if (raw.onUnsupported !== 'fail' && raw.onUnsupported !== 'warn') problems.add(`${where}.onUnsupported`, `must be fail or warn, got ${show(raw.onUnsupported)}`);
    else out.onUnsupported = raw.onUnsupported;
  }
  if (raw.plugins !== undefined) {
    const plugins = raw.plugins;
    if (!Array.isArray(plugins) || !plugins.every((p) => isObj(p) && typeof p.path === 'string' && (p.function === undefined || typeof p.function === 'string'))) {
      problems.add(`${where}.plugins`, 'must be a list of { path, function? }');
    } else out.plugins = plugins.map((p: Obj) => ({ path: absolute(p.path as string, baseDir), ...(p.function ? { function: p.function as string } : {}) }));
  }
  return Object.keys(out).length ? out : undefined;
}

function haltPolicy(raw: unknown, problems: Problems): HaltPolicy {
  if (raw === undefined) return { onHalt: ROLLOUT_DEFAULTS.onHalt };
  if (!isObj(raw)) {
    problems.add('halt', 'must be a mapping (maxFailures, maxFailureFraction, onHalt)');
    return { onHalt: ROLLOUT_DEFAULTS.onHalt };
  }
  unknownKeys(raw, HALT_KEYS, 'halt', problems);
  const policy: { -readonly [K in keyof HaltPolicy]: HaltPolicy[K] } = { onHalt: ROLLOUT_DEFAULTS.onHalt };
  if (raw.maxFailures !== undefined) {
    if (!(Number.isSafeInteger(raw.maxFailures) && (raw.maxFailures as number) >= 0)) problems.add('halt.maxFailures', `must be a whole number >= 0 (failures tolerated before the halt), got ${show(raw.maxFailures)}`);
    else policy.maxFailures = raw.maxFailures as number;
  }
  if (raw.maxFailureFraction !== undefined) {
    const f = raw.maxFailureFraction;
    if (!(typeof f === 'number' && f >= 0 && f < 1)) problems.add('halt.maxFailureFraction', `must be a number in [0, 1) (share of all entries tolerated), got ${show(f)}`);
    else policy.maxFailureFraction = f;
  }
  if (raw.onHalt !== undefined) {
    if (raw.onHalt !== 'abort' && raw.onHalt !== 'let-finish') problems.add('halt.onHalt', `must be abort or let-finish, got ${show(raw.onHalt)}`);
    else policy.onHalt = raw.onHalt;
  }
  return policy;
}

function integer(raw: unknown, fallback: number, min: number, where: string, problems: Problems): number {
  if (raw === undefined) return fallback;
  if (!(Number.isSafeInteger(raw) && (raw as number) >= min)) {
    problems.add(where, `must be a whole number >= ${min}, got ${show(raw)}`);
    return fallback;
  }
  return raw as number;
}

function number(raw: unknown, fallback: number, min: number, where: string, problems: Problems): number {
  if (raw === undefined) return fallback;
  if (!(typeof raw === 'number' && Number.isFinite(raw) && raw >= min)) {
    problems.add(where, `must be a number >= ${min}, got ${show(raw)}`);
    return fallback;
  }
  return raw;
}

function unknownKeys(obj: Obj, known: readonly string[], where: string, problems: Problems): void {
  for (const key of Object.keys(obj)) if (!known.includes(key)) problems.add(where, `unknown field "${key}" (known: ${known.join(', ')})`);
}

/** Every problem found, each "where: what", so one run of the validator reports them all. */
class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }
}

function absolute(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** A signing key: a path (relative to the file) or `kid:<kid>`, resolved by each worker. */
function keyPath(key: string, baseDir: string): string {
  return namesKeyByKid(key) ? key : absolute(key, baseDir);
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
