import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { DigestCache } from '../hashing/digest-cache.js';
import { InvalidKeyError, KeyNotFoundError, PassphraseMissingError, WrongPassphraseError, errorMessage } from '../errors/index.js';
import {
  OMS_PREDICATE_TYPE,
  buildOmsStatement,
  omsBundleJson,
  omsKeyHint,
  signOmsPayload,
  omsPayloadBytes,
  verifyOmsBundle,
  type OmsVerifyReport,
} from './oms-bundle.js';

/**
 * CLI-ready entry points for `modelship sign --format oms` / `modelship verify --format oms`.
 * They take file paths like `model_signing sign key` / `verify key`, return what happened,
 * and leave printing and exit codes to the caller (formatOmsReport gives the lines).
 */

export interface OmsSignCommandOptions {
  readonly passphrase?: string;
  /** model_signing's `--ignore-paths`, relative to the model folder. */
  readonly ignorePaths?: readonly string[];
  readonly ignoreGitPaths?: boolean;
  readonly signal?: AbortSignal;
  /** An opt-in digest cache file: re-signing after a small change re-hashes only what changed. */
  readonly digestCachePath?: string;
}

export interface OmsSignCommandResult {
  readonly out: string;
  readonly subject: { readonly name: string; readonly sha256: string };
  readonly files: number;
  readonly bytes: number;
  /** Bytes read and hashed by this run; the rest came from the digest cache. */
  readonly bytesHashed: number;
  readonly bytesFromCache: number;
  readonly hint: string;
  readonly predicateType: string;
  readonly ms: number;
}

async function readKeyFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new KeyNotFoundError(`cannot read the ${what} ${path}: ${errorMessage(err)}`);
  }
}

/** `model_signing sign key MODEL --private_key KEY --signature OUT`, in-process. */
export async function signOmsCommand(
  modelDir: string,
  keyPath: string,
  out: string,
  options: OmsSignCommandOptions = {},
): Promise<OmsSignCommandResult> {
  const started = performance.now();
  const pem = await readKeyFile(keyPath, 'private key');
  let key;
  try {
    key = createPrivateKey(options.passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase: options.passphrase });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MISSING_PASSPHRASE') throw new PassphraseMissingError(`the private key ${keyPath} is encrypted: give its passphrase`);
    if (options.passphrase !== undefined) throw new WrongPassphraseError(`cannot decrypt the private key ${keyPath}: ${errorMessage(err)}`);
    throw new InvalidKeyError(`cannot read the private key ${keyPath} (PEM): ${errorMessage(err)}`);
  }
  const digestCache = options.digestCachePath ? await DigestCache.open(options.digestCachePath) : undefined;
  const { statement, files, bytes, bytesHashed, bytesFromCache } = await buildOmsStatement(modelDir, {
    ...(digestCache ? { digestCache } : {}),
    signaturePath: out,
    ...(options.ignorePaths ? { ignorePaths: options.ignorePaths } : {}),
    ...(options.ignoreGitPaths !== undefined ? { ignoreGitPaths: options.ignoreGitPaths } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await digestCache?.save();
  const bundle = signOmsPayload(omsPayloadBytes(statement), key);
  await writeFileAtomic(resolve(out), omsBundleJson(bundle));
  const subject = statement.subject[0];
  return {
    out,
    subject: { name: subject.name, sha256: subject.digest.sha256 },
    files: files.length,
    bytes,
    bytesHashed,
    bytesFromCache,
    hint: omsKeyHint(createPublicKey(key)),
    predicateType: OMS_PREDICATE_TYPE,
    ms: performance.now() - started,
  };
}

export interface OmsVerifyCommandOptions {
  readonly ignorePaths?: readonly string[];
  readonly ignoreGitPaths?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * `model_signing verify key MODEL --signature SIG --public_key PUB`, in-process. A signature
 * file that is not JSON comes back as a failed 'bundle' check; a missing or unusable key file
 * throws (KeyNotFoundError / InvalidKeyError), as the CLI's other key errors do.
 */
export async function verifyOmsCommand(
  modelDir: string,
  sigPath: string,
  pubPath: string,
  options: OmsVerifyCommandOptions = {},
): Promise<OmsVerifyReport & { readonly ms: number }> {
  const started = performance.now();
  const pem = await readKeyFile(pubPath, 'public key');
  let text: string;
  try {
    text = await readFile(sigPath, 'utf8');
  } catch (err) {
    return {
      ok: false,
      modelDir,
      checks: [{ check: 'bundle', ok: false, detail: `cannot read the signature ${sigPath}: ${errorMessage(err)}` }],
      ms: performance.now() - started,
    };
  }
  const report = await verifyOmsBundle(modelDir, text, pem, { signaturePath: sigPath, ...options });
  return { ...report, ms: performance.now() - started };
}

/** Human lines for a verify report, in the style of `modelship verify`. */
export function formatOmsReport(report: OmsVerifyReport): string[] {
  const lines = [`verifying ${report.modelDir} (OpenSSF model signing)`];
  for (const c of report.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(14)} ${c.detail}`);
  if (report.ok) lines.push(`verified: ${report.subject?.name ?? ''} sha256:${report.subject?.sha256 ?? ''}`);
  else lines.push(`verification FAILED: ${[...new Set(report.checks.filter((c) => !c.ok).map((c) => c.check))].join(', ')}`);
  return lines;
}
