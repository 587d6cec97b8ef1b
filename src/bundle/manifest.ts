import { parse, stringify } from 'yaml';
import { ManifestError } from '../errors/index.js';
import { canonicalPathProblem } from '../hashing/root-digest.js';
import { DIGEST_RULE_NAMES, MIN_SHARD_BYTES, type DigestRule, type DigestRuleName } from '../hashing/digest-rule.js';
import type { BundleFile, FileDigest, ModelInfo, SourceRef } from '../release/types.js';

export const MANIFEST_API_VERSION = 'modelship/v1';
/** The JWS `typ` naming what the signature covers. */
export const MANIFEST_JWS_TYP = 'modelship-manifest+yaml';

interface ManifestCommon {
  readonly apiVersion: typeof MANIFEST_API_VERSION;
  readonly kind: 'ModelManifest';
  readonly name: string;
  readonly version: string;
  readonly releaseId: string;
  readonly createdAt: string;
  readonly framework: Omit<ModelInfo, 'inputs' | 'outputs'>;
  readonly modelFile: string;
  readonly signature: Pick<ModelInfo, 'inputs' | 'outputs'>;
  readonly source: SourceRef;
}

/** Written by export: sizes known, digests not yet. */
export interface ManifestDraft extends ManifestCommon {
  readonly files: readonly BundleFile[];
}

/** Completed by hash: every file's SHA-256 and the root digest. This is what gets signed. */
export interface Manifest extends ManifestCommon {
  readonly files: readonly FileDigest[];
  readonly digest: ManifestDigest;
}

/** The root digest and the rule that gives it; `shardBytes` is present exactly under v2. */
export interface ManifestDigest {
  readonly algorithm: 'sha256';
  readonly rule: DigestRuleName;
  readonly shardBytes?: number;
  readonly root: string;
}

export function manifestDigestRule(digest: ManifestDigest): DigestRule {
  return digest.rule === 'modelship-root-v1' ? { name: digest.rule } : { name: digest.rule, shardBytes: digest.shardBytes! };
}

export function serializeManifest(manifest: ManifestDraft | Manifest): string {
  return stringify(manifest, { lineWidth: 0 });
}

export function completeManifest(draft: ManifestDraft, files: readonly FileDigest[], root: string, rule: DigestRule): Manifest {
  const digest: ManifestDigest = rule.name === 'modelship-root-v1' ? { algorithm: 'sha256', rule: rule.name, root } : { algorithm: 'sha256', rule: rule.name, shardBytes: rule.shardBytes, root };
  return { ...draft, files, digest };
}

/** Parses and checks every field a verifier relies on; the error names the field. */
export function parseManifest(text: string): Manifest {
  const m = parseYamlMapping(text);
  expect(m.apiVersion === MANIFEST_API_VERSION, `apiVersion must be ${MANIFEST_API_VERSION}`);
  expect(m.kind === 'ModelManifest', 'kind must be ModelManifest');
  for (const key of ['name', 'version', 'releaseId', 'createdAt', 'modelFile'] as const) {
    expect(typeof m[key] === 'string', `${key} must be a string`);
  }
  const files = m.files;
  expect(Array.isArray(files) && files.length > 0, 'files must be a non-empty list');
  for (const [i, f] of (files as unknown[]).entries()) {
    const file = record(f, `files[${i}]`);
    expect(typeof file.path === 'string', `files[${i}].path must be a string`);
    const problem = canonicalPathProblem(file.path as string);
    expect(problem === undefined, `files[${i}].path ${JSON.stringify(file.path)}: ${problem}`);
    expect(Number.isSafeInteger(file.size) && (file.size as number) >= 0, `files[${i}].size must be a byte count`);
    expect(typeof file.sha256 === 'string' && /^[0-9a-f]{64}$/.test(file.sha256), `files[${i}].sha256 must be SHA-256 hex`);
  }
  const digest = record(m.digest, 'digest');
  expect(digest.algorithm === 'sha256', 'digest.algorithm must be sha256');
  expect(DIGEST_RULE_NAMES.includes(digest.rule as DigestRuleName), `digest.rule must be one of ${DIGEST_RULE_NAMES.join(', ')}`);
  if (digest.rule === 'modelship-root-v1') expect(digest.shardBytes === undefined, 'digest.shardBytes is only allowed under modelship-root-v2');
  else expect(Number.isSafeInteger(digest.shardBytes) && (digest.shardBytes as number) >= MIN_SHARD_BYTES, `digest.shardBytes must be a whole number of bytes, at least ${MIN_SHARD_BYTES}`);
  expect(typeof digest.root === 'string' && /^[0-9a-f]{64}$/.test(digest.root), 'digest.root must be SHA-256 hex');
  record(m.framework, 'framework');
  record(m.signature, 'signature');
  record(m.source, 'source');
  return m as unknown as Manifest;
}

function parseYamlMapping(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text, { logLevel: 'error' });
  } catch (err) {
    throw new ManifestError(`model.yaml is not valid YAML: ${(err as Error).message}`);
  }
  return record(doc, 'model.yaml');
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ManifestError(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new ManifestError(`model.yaml: ${message}`);
}

/** Reads the draft export wrote (or a complete manifest, minus its digests, when hash is retried). */
export function parseManifestDraft(text: string): ManifestDraft {
  const m = parseYamlMapping(text);
  expect(m.apiVersion === MANIFEST_API_VERSION && m.kind === 'ModelManifest', 'not a modelship manifest');
  expect(Array.isArray(m.files), 'files must be a list');
  const files = (m.files as unknown[]).map((f, i) => {
    const file = record(f, `files[${i}]`);
    expect(typeof file.path === 'string' && Number.isSafeInteger(file.size), `files[${i}] needs path and size`);
    return { path: file.path as string, size: file.size as number };
  });
  const { digest: _digest, ...rest } = m;
  return { ...(rest as unknown as ManifestDraft), files };
}
