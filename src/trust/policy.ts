import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TrustPolicyError, errorMessage } from '../errors/index.js';
import { keyStatus, type Keyring } from './keyring.js';

/**
 * A trust policy: which kids may sign for which models, and how many of them must (t of n).
 *
 * File format (YAML, or JSON when the file name ends in .json):
 *
 *     version: 1
 *     rules:
 *       - models: ["fraud-*"]              # exact names or globs (* any run of characters, ? one)
 *         trustedKids: [<kid A>, <kid B>, <kid C>]
 *         threshold: 2                      # t: distinct trusted kids whose signatures must verify
 *         description: fraud models need two release managers
 *       - models: [sample-mlp]
 *         trustedKids: [<kid A>]
 *         threshold: 1
 *     default:                             # optional: without it, a model no rule names is refused
 *       trustedKids: [<kid A>]
 *       threshold: 1
 *
 * In YAML, quote a glob that starts with * (`models: ["*-eu"]`): unquoted it is an alias.
 * YAML anchors may name a kid list once (`trustedKids: &release [...]`, then `*release`).
 * The rule for a model: a rule naming it exactly, else the first rule (in file order) with a
 * matching glob, else `default`. A name or glob may appear in one rule only.
 */

export const TRUST_POLICY_VERSION = 1;

export interface TrustRule {
  /** Where the rule is in the file: `rules[0]` or `default`. */
  readonly where: string;
  /** Exact names and globs; empty for the default rule. */
  readonly models: readonly string[];
  readonly trustedKids: readonly string[];
  readonly threshold: number;
  readonly description: string | undefined;
}

export interface TrustPolicy {
  /** The file it was read from, for messages. */
  readonly source: string | undefined;
  readonly rules: readonly TrustRule[];
  readonly default: TrustRule | undefined;
}

export interface RuleMatch {
  readonly rule: TrustRule;
  /** The name or glob that matched, or `default`. */
  readonly matchedBy: string;
}

/** The rule that applies to a model name, or undefined when no rule names it and there is no default. */
export function ruleFor(policy: TrustPolicy, modelName: string): RuleMatch | undefined {
  for (const rule of policy.rules) {
    if (rule.models.some((pattern) => !isGlob(pattern) && pattern === modelName)) return { rule, matchedBy: modelName };
  }
  for (const rule of policy.rules) {
    for (const pattern of rule.models) {
      if (isGlob(pattern) && globToRegExp(pattern).test(modelName)) return { rule, matchedBy: pattern };
    }
  }
  return policy.default ? { rule: policy.default, matchedBy: 'default' } : undefined;
}

export function describeRule(match: RuleMatch): string {
  return match.matchedBy === 'default' ? 'the default rule' : `${match.rule.where} (${match.matchedBy})`;
}

export async function loadTrustPolicy(path: string): Promise<TrustPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TrustPolicyError(`cannot read the trust policy ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseTrustPolicy(text, { source: path, format: extname(path).toLowerCase() === '.json' ? 'json' : 'yaml' });
}

const POLICY_FIELDS = ['version', 'rules', 'default'];
const RULE_FIELDS = ['models', 'trustedKids', 'threshold', 'description'];
const DEFAULT_RULE_FIELDS = ['trustedKids', 'threshold', 'description'];
/** A SHA-256 RFC 7638 thumbprint: 32 bytes in unpadded base64url. */
const KID = /^[A-Za-z0-9_-]{43}$/;
/** Model names are 1-128 of [A-Za-z0-9._+-] (src/release/ids.ts); a glob adds * and ?. */
const MODEL_PATTERN = /^[A-Za-z0-9._+*?-]{1,128}$/;

/** Parses and checks a policy; every error names the rule and field. YAML is the default format (JSON is YAML too). */
export function parseTrustPolicy(text: string, options: { source?: string; format?: 'json' | 'yaml' } = {}): TrustPolicy {
  const name = options.source ?? 'trust policy';
  const fail = (message: string, cause?: unknown): never => {
    throw new TrustPolicyError(`${name}: ${message}`, cause === undefined ? undefined : { cause });
  };
  let doc: unknown;
  try {
    doc = options.format === 'json' ? JSON.parse(text) : parseYaml(text, { logLevel: 'error', uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    return fail(`not valid ${options.format === 'json' ? 'JSON' : 'YAML'}: ${errorMessage(err)}`, err);
  }
  if (!isRecord(doc)) return fail('must be a mapping with version, rules and (optionally) default');
  unknownFields(doc, POLICY_FIELDS, '', fail);
  if (doc.version !== TRUST_POLICY_VERSION) fail(`version must be ${TRUST_POLICY_VERSION}, got ${JSON.stringify(doc.version)}`);
  const rawRules = doc.rules ?? [];
  if (!Array.isArray(rawRules)) return fail('rules must be a list');

  const rules: TrustRule[] = [];
  const seenPattern = new Map<string, string>();
  for (const [index, raw] of (rawRules as unknown[]).entries()) {
    const where = `rules[${index}]`;
    if (!isRecord(raw)) return fail(`${where} must be a mapping with models, trustedKids and threshold`);
    unknownFields(raw, RULE_FIELDS, `${where}.`, fail);
    const models = typeof raw.models === 'string' ? [raw.models] : raw.models;
    if (!Array.isArray(models) || models.length === 0) return fail(`${where}.models must be a model name or glob, or a non-empty list of them`);
    for (const [i, pattern] of (models as unknown[]).entries()) {
      if (typeof pattern !== 'string' || !MODEL_PATTERN.test(pattern)) {
        fail(`${where}.models[${i}] ${JSON.stringify(pattern)} is not a model name or glob (letters, digits, '.', '_', '+', '-', and the wildcards * and ?)`);
      }
      const earlier = seenPattern.get(pattern as string);
      if (earlier) fail(`${where}.models[${i}] ${JSON.stringify(pattern)} is in ${earlier} already: a name or glob may be in one rule only`);
      seenPattern.set(pattern as string, where);
    }
    rules.push({ where, models: models as string[], ...parseTrust(raw, where, fail) });
  }
  let defaultRule: TrustRule | undefined;
  if (doc.default !== undefined) {
    if (!isRecord(doc.default)) return fail('default must be a mapping with trustedKids and threshold');
    unknownFields(doc.default, DEFAULT_RULE_FIELDS, 'default.', fail);
    defaultRule = { where: 'default', models: [], ...parseTrust(doc.default, 'default', fail) };
  }
  if (rules.length === 0 && !defaultRule) fail('has no rules and no default: it would trust nothing');
  return { source: options.source, rules, default: defaultRule };
}

function parseTrust(raw: Record<string, unknown>, where: string, fail: (message: string) => never): Pick<TrustRule, 'trustedKids' | 'threshold' | 'description'> {
  if (!Array.isArray(raw.trustedKids) || raw.trustedKids.length === 0) return fail(`${where}.trustedKids must be a non-empty list of kids`);
  const kids = raw.trustedKids as unknown[];
  for (const [i, kid] of kids.entries()) {
    if (typeof kid !== 'string' || !KID.test(kid)) {
      fail(`${where}.trustedKids[${i}] ${JSON.stringify(kid)} is not a kid (an RFC 7638 SHA-256 thumbprint: 43 base64url characters; \`modelship keys list\` shows them)`);
    }
    if (kids.indexOf(kid) !== i) fail(`${where}.trustedKids[${i}] ${kid} is listed twice`);
  }
  if (raw.threshold === undefined) fail(`${where}.threshold is required: how many of the ${kids.length} trusted kids must sign (1 to ${kids.length})`);
  if (typeof raw.threshold !== 'number' || !Number.isInteger(raw.threshold) || raw.threshold < 1) {
    fail(`${where}.threshold must be a whole number from 1 to ${kids.length}, got ${JSON.stringify(raw.threshold)}`);
  }
  if ((raw.threshold as number) > kids.length) {
    fail(`${where}.threshold ${raw.threshold as number} is more than the ${kids.length} trusted kid${kids.length > 1 ? 's' : ''}: it could never be met`);
  }
  if (raw.description !== undefined && typeof raw.description !== 'string') fail(`${where}.description must be a string`);
  return { trustedKids: kids as string[], threshold: raw.threshold as number, description: raw.description as string | undefined };
}

/**
 * Problems that are not errors in the policy itself but would make verification fail: kids the
 * keyring does not know, and rules whose threshold cannot be met by the keys valid at `at`.
 * For `modelship keys list` and `policy check`; verification itself reports the same per signature.
 */
export function checkPolicyAgainstKeyring(policy: TrustPolicy, keyring: Keyring, at: Date): string[] {
  const warnings: string[] = [];
  for (const rule of [...policy.rules, ...(policy.default ? [policy.default] : [])]) {
    let usable = 0;
    for (const kid of rule.trustedKids) {
      const entry = keyring.get(kid);
      if (!entry) {
        warnings.push(`${rule.where}: kid ${kid} is not in the keyring`);
        continue;
      }
      const status = keyStatus(entry, at);
      if (status.state === 'valid') usable += 1;
      else warnings.push(`${rule.where}: kid ${kid} is ${status.state}`);
    }
    if (usable < rule.threshold) {
      warnings.push(`${rule.where}: only ${usable} of its trusted kids are valid at ${at.toISOString()}, fewer than its threshold ${rule.threshold}: nothing can verify under it`);
    }
  }
  return warnings;
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** `*` matches any run of characters (also none), `?` exactly one; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+\-^$()[\]{}|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function unknownFields(value: Record<string, unknown>, allowed: readonly string[], prefix: string, fail: (message: string) => never): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length) fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${prefix}${k}`).join(', ')} (allowed: ${allowed.join(', ')})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
