import type { DigestCache } from '../hashing/digest-cache.js';
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { decodeBase64Strict, encodeBase64 } from '../crypto/base64.js';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../crypto/dsse.js';
import { IN_TOTO_STATEMENT_V1 } from '../attest/statement.js';
import { canonicalPathProblem } from '../hashing/root-digest.js';
import { InvalidKeyError, errorMessage } from '../errors/index.js';
import {
  OMS_GIT_PATHS,
  compareOmsPaths,
  hashOmsFiles,
  listOmsFiles,
  normalizeOmsIgnorePath,
  signaturePathInside,
  type OmsHashedFile,
} from './oms-files.js';

/**
 * The OpenSSF model-signing format as `model_signing` 1.1.x writes and checks it for
 * `sign key` / `verify key` (read from its source: model_signing/_signing/sign_ec_key.py,
 * sign_sigstore_pb.py, signing.py, manifest.py, hashing.py, _serialization/file.py):
 *
 * - a Sigstore bundle v0.3, written as compact JSON:
 *   `{"mediaType":…,"verificationMaterial":{"publicKey":{"hint":…},"tlogEntries":[]},"dsseEnvelope":{…}}`;
 * - `hint` = lowercase hex SHA-256 of the public key's SubjectPublicKeyInfo PEM text
 *   ("-----BEGIN PUBLIC KEY-----\n", 64-column base64, "-----END PUBLIC KEY-----\n"), as
 *   `cryptography` and `node:crypto` both print it; verification refuses a bundle whose hint
 *   is not the given key's and only warns when the hint is absent (older bundles);
 * - `dsseEnvelope` `{ payload: base64(statement JSON), payloadType: "application/vnd.in-toto+json",
 *   signatures: [{ sig: base64(DER ECDSA), keyid: "" }] }`; the signed bytes are the DSSE v1 PAE
 *   of the payload; the hash follows the curve (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512);
 *   the ECDSA signature is ASN.1 DER (`cryptography`'s only encoding), not raw r||s;
 *   only the first signature is checked;
 * - the payload is protobuf's MessageToJson of an in-toto Statement v1: indented by two
 *   spaces, no trailing newline, object keys in no fixed order (protobuf Struct);
 * - one subject: name = the model folder's last path component, digest.sha256 = SHA-256 over
 *   the concatenated raw 32-byte file digests in the order the resources are listed;
 * - predicate `{ serialization: { method: "files", hash_type: "sha256", allow_symlinks: false,
 *   ignore_paths: [...] }, resources: [{ name, algorithm: "sha256", digest: hex }] }`, the
 *   resources sorted as Python sorts PurePosixPath (see compareOmsPaths); ignore_paths holds the
 *   git defaults plus the signature file's path when it is inside the folder (model_signing
 *   lists them from a frozenset, so in no fixed order; it omits the member when empty), and
 *   the verifier ignores those paths again when it re-hashes.
 */
export const OMS_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

export interface OmsResource {
  readonly name: string;
  readonly algorithm: 'sha256';
  readonly digest: string;
}

export interface OmsSerialization {
  readonly method: 'files';
  readonly hash_type: 'sha256';
  readonly allow_symlinks: boolean;
  readonly ignore_paths?: readonly string[];
}

export interface OmsPredicate {
  readonly serialization: OmsSerialization;
  readonly resources: readonly OmsResource[];
}

export interface OmsStatement {
  readonly _type: typeof IN_TOTO_STATEMENT_V1;
  readonly subject: readonly [{ readonly name: string; readonly digest: { readonly sha256: string } }];
  readonly predicateType: typeof OMS_PREDICATE_TYPE;
  readonly predicate: OmsPredicate;
}

export interface OmsBundle {
  readonly mediaType: typeof OMS_BUNDLE_MEDIA_TYPE;
  readonly verificationMaterial: { readonly publicKey: { readonly hint: string }; readonly tlogEntries: readonly [] };
  readonly dsseEnvelope: {
    readonly payload: string;
    readonly payloadType: typeof IN_TOTO_PAYLOAD_TYPE;
    readonly signatures: ReadonlyArray<{ readonly sig: string; readonly keyid: string }>;
  };
}

export type KeyInput = KeyObject | string | Buffer;

export interface OmsHashOptions {
  /** Where the signature is (or will be) written: ignored, and recorded, when inside the model folder. */
  readonly signaturePath?: string;
  /** More paths to leave out, relative to the model folder (model_signing's `--ignore-paths`). */
  readonly ignorePaths?: readonly string[];
  /** model_signing's `--ignore-git-paths` (the default) / `--no-ignore-git-paths`. */
  readonly ignoreGitPaths?: boolean;
  readonly signal?: AbortSignal;
}

export interface OmsSignOptions extends OmsHashOptions {
  /** Subject name; model_signing uses the folder's name. */
  readonly modelName?: string;
  /** For an encrypted PEM private key. */
  readonly passphrase?: string;
  /** Take unchanged files' digests from this cache (and record the rest). */
  readonly digestCache?: DigestCache;
}

// ---------------------------------------------------------------------------------------------
// Keys

const CURVE_HASH: Readonly<Record<string, string>> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };
const CURVE_LABEL: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** The ECDSA hash model_signing pairs with the key's curve; refuses anything but P-256/384/521. */
export function omsKeyHash(key: KeyObject): { hash: string; curve: string } {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const hash = curve ? CURVE_HASH[curve] : undefined;
  if (!curve || !hash) {
    const what = key.asymmetricKeyType === 'ec' ? `EC curve ${curve ?? 'unknown'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
    throw new InvalidKeyError(`model_signing key signatures use ECDSA P-256, P-384 or P-521 keys; got ${what}`);
  }
  return { hash, curve: CURVE_LABEL[curve]! };
}

/** hex SHA-256 of the SubjectPublicKeyInfo PEM text: model_signing's `publicKey.hint`. */
export function omsKeyHint(publicKey: KeyObject): string {
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}

function toPrivateKey(key: KeyInput, passphrase?: string): KeyObject {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) {
    if (key.type !== 'private') throw new InvalidKeyError('signing needs a private key');
    return key;
  }
  try {
    return createPrivateKey(passphrase === undefined ? { key, format: 'pem' } : { key, format: 'pem', passphrase });
  } catch (err) {
    throw new InvalidKeyError(`cannot read the ECDSA private key (PEM): ${errorMessage(err)}`);
  }
}

function toPublicKey(key: KeyInput): KeyObject {
  if (typeof key !== 'string' && !Buffer.isBuffer(key)) return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return createPublicKey({ key, format: 'pem' });
  } catch (err) {
    throw new InvalidKeyError(`cannot read the ECDSA public key (PEM): ${errorMessage(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Statement

/** SHA-256 over the raw bytes of the listed digests, in the listed order: the subject digest. */
export function omsSubjectDigest(resources: ReadonlyArray<{ readonly digest: string }>): string {
  const hash = createHash('sha256');
  for (const r of resources) hash.update(Buffer.from(r.digest, 'hex'));
  return hash.digest('hex');
}

/** model_signing's subject name: the last component of the path as given, else of the resolved path. */
export function omsModelName(modelDir: string): string {
  const parts = modelDir.split(/\/+/).filter((s) => s !== '' && s !== '.');
  const last = parts[parts.length - 1];
  return last && last !== '..' ? last : basename(resolve(modelDir));
}

/** The paths a sign or verify run leaves out, in the order we record them. */
export async function omsIgnorePaths(modelDir: string, options: OmsHashOptions = {}): Promise<string[]> {
  const paths: string[] = [];
  if (options.signaturePath !== undefined) {
    const inside = await signaturePathInside(modelDir, options.signaturePath);
    if (inside !== undefined) paths.push(inside);
  }
  for (const p of options.ignorePaths ?? []) paths.push(normalizeOmsIgnorePath(p));
  if (options.ignoreGitPaths ?? true) paths.push(...OMS_GIT_PATHS);
  return [...new Set(paths)];
}

export interface OmsHashResult {
  readonly statement: OmsStatement;
  readonly files: readonly OmsHashedFile[];
  readonly bytes: number;
  readonly bytesHashed: number;
  readonly bytesFromCache: number;
}

/** Lists and hashes the folder and builds the statement model_signing would sign for it. */
export async function buildOmsStatement(modelDir: string, options: OmsSignOptions = {}): Promise<OmsHashResult> {
  const ignore = await omsIgnorePaths(modelDir, options);
  const { files, bytesHashed, bytesFromCache } = await hashOmsFiles(modelDir, await listOmsFiles(modelDir, ignore), {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.digestCache ? { cache: options.digestCache } : {}),
  });
  const resources: OmsResource[] = files.map((f) => ({ name: f.name, algorithm: 'sha256', digest: f.sha256 }));
  const serialization: OmsSerialization = {
    method: 'files',
    hash_type: 'sha256',
    allow_symlinks: false,
    ...(ignore.length ? { ignore_paths: ignore } : {}),
  };
  const statement: OmsStatement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: options.modelName ?? omsModelName(modelDir), digest: { sha256: omsSubjectDigest(resources) } }],
    predicateType: OMS_PREDICATE_TYPE,
    predicate: { serialization, resources },
  };
  return { statement, files, bytes: files.reduce((n, f) => n + f.size, 0), bytesHashed, bytesFromCache };
}

/** The payload bytes: two-space indented JSON without a trailing newline, as protobuf's MessageToJson prints it. */
export function omsPayloadBytes(statement: unknown): Buffer {
  return Buffer.from(JSON.stringify(statement, null, 2), 'utf8');
}

/** Signs any statement bytes into a bundle; signOmsBundle is the usual way in. */
export function signOmsPayload(payload: Uint8Array, privateKey: KeyInput, passphrase?: string): OmsBundle {
  const key = toPrivateKey(privateKey, passphrase);
  const { hash } = omsKeyHash(key);
  const sig = cryptoSign(hash, pae(IN_TOTO_PAYLOAD_TYPE, payload), { key, dsaEncoding: 'der' });
  return {
    mediaType: OMS_BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: omsKeyHint(createPublicKey(key)) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: encodeBase64(payload),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: encodeBase64(sig), keyid: '' }],
    },
  };
}

/** Hashes `modelDir` and signs it as `model_signing sign key` would. */
export async function signOmsBundle(modelDir: string, privateKey: KeyInput, options: OmsSignOptions = {}): Promise<OmsBundle> {
  // Load (and check) the key before hashing a possibly large folder.
  const key = toPrivateKey(privateKey, options.passphrase);
  omsKeyHash(key);
  const { statement } = await buildOmsStatement(modelDir, options);
  return signOmsPayload(omsPayloadBytes(statement), key);
}

/** The signature file's text: compact JSON, as model_signing writes it. */
export function omsBundleJson(bundle: OmsBundle): string {
  return JSON.stringify(bundle);
}

// ---------------------------------------------------------------------------------------------
// Verification

export type OmsCheckName =
  | 'bundle'
  | 'key-hint'
  | 'signature'
  | 'payload'
  | 'subject-digest'
  | 'files'
  | 'file-digest'
  | 'missing-file'
  | 'extra-file';

export interface OmsCheck {
  readonly check: OmsCheckName;
  readonly ok: boolean;
  /** What was checked, or exactly what failed and where. */
  readonly detail: string;
  /** The model-relative file a file check is about. */
  readonly path?: string;
}

export interface OmsVerifyReport {
  readonly ok: boolean;
  readonly modelDir: string;
  /** The signed subject, once the signature verified and the payload parsed. */
  readonly subject?: { readonly name: string; readonly sha256: string };
  readonly files?: number;
  readonly bytes?: number;
  readonly checks: readonly OmsCheck[];
}

export type OmsVerifyOptions = Omit<OmsHashOptions, 'signaturePath'> & {
  /** The signature file's path, ignored when it is inside the model folder (as the CLI does). */
  readonly signaturePath?: string;
};

class Stop extends Error {}

/**
 * Checks `bundle` (parsed JSON or its text) against the folder and the ECDSA public key, as
 * `model_signing verify key` does: bundle media type, key hint, the first DSSE signature over
 * the PAE, the statement, the subject digest over the listed resources, then a re-hash of the
 * folder with the default git ignores, the signature file if inside, and the signed
 * `ignore_paths`. Every failure is a check saying what and where; a signature that does not
 * verify stops before anything in the unauthenticated payload is used.
 * Throws only for a public key that cannot be used at all (not ECDSA P-256/384/521).
 */
export async function verifyOmsBundle(
  modelDir: string,
  bundle: unknown,
  publicKey: KeyInput,
  options: OmsVerifyOptions = {},
): Promise<OmsVerifyReport> {
  const key = toPublicKey(publicKey);
  const { hash, curve } = omsKeyHash(key);
  const checks: OmsCheck[] = [];
  const pass = (check: OmsCheckName, detail: string, path?: string) => checks.push({ check, ok: true, detail, ...(path ? { path } : {}) });
  const fail = (check: OmsCheckName, detail: string, path?: string) => checks.push({ check, ok: false, detail, ...(path ? { path } : {}) });
  const stop = (check: OmsCheckName, detail: string): never => {
    fail(check, detail);
    throw new Stop();
  };
  let subject: { name: string; sha256: string } | undefined;
  let files: number | undefined;
  let bytes: number | undefined;

  try {
    // 1. The bundle's shape.
    let parsed = bundle;
    if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) {
      try {
        parsed = JSON.parse(parsed.toString());
      } catch (err) {
        stop('bundle', `not JSON: ${errorMessage(err)}`);
      }
    }
    const b = asObject(parsed);
    if (!b) return stop('bundle', 'not a JSON object');
    if (b.mediaType !== OMS_BUNDLE_MEDIA_TYPE) {
      stop('bundle', `mediaType is ${JSON.stringify(b.mediaType)}, expected ${JSON.stringify(OMS_BUNDLE_MEDIA_TYPE)}`);
    }
    const material = asObject(b.verificationMaterial);
    if (!material) return stop('bundle', 'verificationMaterial is missing');
    const env = asObject(b.dsseEnvelope);
    if (!env) return stop('bundle', 'dsseEnvelope is missing (only DSSE bundles are model signatures)');
    if (typeof env.payload !== 'string' || typeof env.payloadType !== 'string') stop('bundle', 'dsseEnvelope needs string payload and payloadType');
    const sigs = env.signatures;
    if (!Array.isArray(sigs) || sigs.length === 0) return stop('bundle', 'dsseEnvelope has no signatures');
    const first = asObject(sigs[0]);
    if (!first || typeof first.sig !== 'string') return stop('bundle', 'dsseEnvelope.signatures[0] needs a string "sig"');
    let payload: Buffer;
    let sig: Buffer;
    try {
      payload = decodeBase64Strict(env.payload as string, 'dsseEnvelope.payload');
      sig = decodeBase64Strict(first.sig, 'dsseEnvelope.signatures[0].sig');
    } catch (err) {
      return stop('bundle', errorMessage(err));
    }
    const extraSigs = sigs.length > 1 ? ` (${sigs.length - 1} further signature(s) not checked, as model_signing checks only the first)` : '';
    pass('bundle', `Sigstore bundle v0.3 with a DSSE envelope${extraSigs}`);

    // 2. The key hint: unsigned, so it only tells which key the signer meant.
    const ourHint = omsKeyHint(key);
    const publicKeyMaterial = asObject(material.publicKey);
    const hint = publicKeyMaterial?.hint;
    if (hint === undefined || hint === null || hint === '') {
      pass('key-hint', 'no public key hint (older model_signing format); the signature decides');
    } else if (hint !== ourHint) {
      fail('key-hint', `the bundle names public key ${String(hint)}, the given ${curve} key is ${ourHint}: signed with another key`);
    } else pass('key-hint', `bundle names the given ${curve} key ${ourHint}`);

    // 3. The signature over the PAE. model_signing builds the PAE with the in-toto type
    //    whatever payloadType says, then requires payloadType to be that type.
    let sigOk = false;
    try {
      sigOk = cryptoVerify(hash, pae(IN_TOTO_PAYLOAD_TYPE, payload), { key, dsaEncoding: 'der' }, sig);
    } catch {
      sigOk = false;
    }
    if (!sigOk) {
      stop('signature', `ECDSA ${curve}/${hash.toUpperCase()} signature (DER) over the DSSE PAE does not verify with the given public key`);
    }
    pass('signature', `ECDSA ${curve}/${hash.toUpperCase()} signature over the DSSE PAE verifies with key ${ourHint}`);

    // 4. The signed statement.
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      stop('payload', `payloadType is ${JSON.stringify(env.payloadType)}, expected ${JSON.stringify(IN_TOTO_PAYLOAD_TYPE)}`);
    }
    const statement = parseStatement(payload, stop);
    subject = { name: statement.subjectName, sha256: statement.subjectDigest };
    pass('payload', `in-toto Statement v1, ${OMS_PREDICATE_TYPE}, subject ${JSON.stringify(statement.subjectName)}, ${statement.resources.length} resources`);

    // 5. The subject digest binds the listed resources, in the listed order.
    const listed = omsSubjectDigest(statement.resources);
    if (listed !== statement.subjectDigest) {
      fail('subject-digest', `subject sha256 is ${statement.subjectDigest} but the listed resource digests hash to ${listed}`);
    } else pass('subject-digest', `sha256 ${listed} over the ${statement.resources.length} listed file digests`);

    // 6. Re-hash the folder: git defaults, the signature file if inside, the signed ignore_paths.
    let ignore: string[];
    try {
      ignore = await omsIgnorePaths(modelDir, {
        ...options,
        ignorePaths: [...(options.ignorePaths ?? []), ...statement.ignorePaths],
      });
    } catch (err) {
      return stop('files', errorMessage(err));
    }
    let actual: OmsHashedFile[];
    try {
      actual = (await hashOmsFiles(modelDir, await listOmsFiles(modelDir, ignore), options.signal ? { signal: options.signal } : {})).files;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return stop('files', `cannot hash the model folder: ${errorMessage(err)}`);
    }
    const expected = new Map(statement.resources.map((r) => [r.name, r.digest]));
    const seen = new Set<string>();
    let mismatches = 0;
    for (const file of actual) {
      seen.add(file.name);
      const want = expected.get(file.name);
      if (want === undefined) {
        mismatches++;
        fail('extra-file', `${file.name} is in the folder but not in the signature`, file.name);
      } else if (want !== file.sha256) {
        mismatches++;
        fail('file-digest', `${file.name}: sha256 is ${file.sha256}, the signature says ${want}`, file.name);
      }
    }
    for (const r of statement.resources) {
      if (!seen.has(r.name)) {
        mismatches++;
        fail('missing-file', `${r.name} is signed but missing from the folder`, r.name);
      }
    }
    files = actual.length;
    bytes = actual.reduce((n, f) => n + f.size, 0);
    if (mismatches === 0) pass('files', `${actual.length} files (${bytes} bytes) match the signed digests; ignored: ${ignore.join(', ') || 'nothing'}`);
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  const ok = checks.length > 0 && checks.every((c) => c.ok) && checks.some((c) => c.check === 'files');
  return {
    ok,
    modelDir,
    ...(subject ? { subject } : {}),
    ...(files !== undefined ? { files, bytes } : {}),
    checks,
  };
}

interface ParsedStatement {
  readonly subjectName: string;
  readonly subjectDigest: string;
  readonly resources: readonly OmsResource[];
  readonly ignorePaths: readonly string[];
}

function parseStatement(payload: Buffer, stop: (check: OmsCheckName, detail: string) => never): ParsedStatement {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return stop('payload', `payload is not JSON: ${errorMessage(err)}`);
  }
  const s = asObject(value);
  if (!s) return stop('payload', 'payload is not a JSON object');
  if (s._type !== IN_TOTO_STATEMENT_V1) stop('payload', `_type is ${JSON.stringify(s._type)}, expected ${JSON.stringify(IN_TOTO_STATEMENT_V1)}`);
  if (s.predicateType !== OMS_PREDICATE_TYPE) {
    stop('payload', `predicateType is ${JSON.stringify(s.predicateType)}, expected ${JSON.stringify(OMS_PREDICATE_TYPE)} (older v0.1 "Digests" signatures are not supported)`);
  }
  if (!Array.isArray(s.subject) || s.subject.length !== 1) return stop('payload', 'the statement must have exactly one subject');
  const subj = asObject(s.subject[0]);
  const subjectDigest = asObject(subj?.digest)?.sha256;
  if (!subj || typeof subj.name !== 'string' || typeof subjectDigest !== 'string' || !/^[0-9a-f]{64}$/.test(subjectDigest)) {
    return stop('payload', 'the subject needs a string name and a lowercase hex sha256 digest');
  }
  const predicate = asObject(s.predicate);
  const ser = asObject(predicate?.serialization);
  if (!predicate || !ser) return stop('payload', 'predicate.serialization is missing');
  if (ser.method !== 'files') stop('payload', `serialization method ${JSON.stringify(ser.method)} is not supported (only "files", what "verify key" re-hashes with)`);
  if (ser.hash_type !== 'sha256') stop('payload', `hash_type ${JSON.stringify(ser.hash_type)} is not supported (only "sha256")`);
  const ignorePaths: string[] = [];
  if (ser.ignore_paths !== undefined) {
    if (!Array.isArray(ser.ignore_paths)) stop('payload', 'serialization.ignore_paths is not a list');
    for (const p of ser.ignore_paths as unknown[]) {
      if (typeof p !== 'string') return stop('payload', 'serialization.ignore_paths holds a non-string');
      try {
        ignorePaths.push(normalizeOmsIgnorePath(p));
      } catch (err) {
        return stop('payload', `serialization.ignore_paths: ${errorMessage(err)}`);
      }
    }
  }
  if (!Array.isArray(predicate.resources)) return stop('payload', 'predicate.resources is not a list');
  const resources: OmsResource[] = [];
  const names = new Set<string>();
  for (const [i, entry] of (predicate.resources as unknown[]).entries()) {
    const r = asObject(entry);
    if (!r || typeof r.name !== 'string' || typeof r.digest !== 'string') return stop('payload', `resource ${i} needs string name and digest`);
    const problem = canonicalPathProblem(r.name);
    if (problem) stop('payload', `resource ${i} name ${JSON.stringify(r.name)}: ${problem}`);
    if (r.algorithm !== 'sha256') stop('payload', `resource ${r.name}: algorithm ${JSON.stringify(r.algorithm)} is not sha256`);
    if (!/^[0-9a-f]{64}$/.test(r.digest)) stop('payload', `resource ${r.name}: digest is not lowercase SHA-256 hex`);
    if (names.has(r.name)) stop('payload', `resource ${r.name} is listed twice`);
    names.add(r.name);
    resources.push({ name: r.name, algorithm: 'sha256', digest: r.digest });
  }
  return { subjectName: subj.name, subjectDigest, resources, ignorePaths };
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** True when the resources are in model_signing's own order (not required for verification). */
export function omsResourcesInOrder(resources: ReadonlyArray<{ readonly name: string }>): boolean {
  return resources.every((r, i) => i === 0 || compareOmsPaths(resources[i - 1]!.name, r.name) < 0);
}
