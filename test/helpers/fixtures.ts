// Shared helpers for the crypto / bundle / hashing tests: temp folders, real key files,
// and running real command-line tools (openssl, sha256sum) without a shell.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  generateKeyFiles,
  loadPublicKey,
  loadSigningKey,
  type GeneratedKeyFiles,
  type PublicKey,
  type SigningKey,
} from '../../src/crypto/keys.js';

export { PROJECT_ROOT };

/** The really-trained sample model shipped with the repo (1630 bytes). */
export const SAMPLE_MODEL = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
export const SAMPLE_MODEL_SHA256 = '498ac7e3ee6ac34c7666fc7950fe80390e0f0b5e467bfbb3749cff9788ad9e74';
export const SAMPLE_MODEL_SIZE = 1630;

export const TEST_PASSPHRASE = 'correct horse battery staple';

/**
 * Temp folders that are removed by `cleanup()`; call it from an `after()` hook so a failing
 * test still leaves nothing behind.
 */
export class TempDirs {
  private readonly dirs: string[] = [];
  async make(prefix = 'modelship-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

export interface TestKeys {
  readonly files: GeneratedKeyFiles;
  readonly signingKey: SigningKey;
  readonly publicKey: PublicKey;
  readonly passphrase: string;
}

/** A real encrypted Ed25519 key pair on disk, loaded back the way the worker and the verifier do. */
export async function makeKeys(dir: string, name = 'release', passphrase = TEST_PASSPHRASE): Promise<TestKeys> {
  const files = await generateKeyFiles(dir, name, passphrase);
  const signingKey = await loadSigningKey(files.privateKeyPath, passphrase);
  const publicKey = await loadPublicKey(files.publicKeyPath);
  return { files, signingKey, publicKey, passphrase };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program (no shell), returning its exit status and output. */
export function run(cmd: string, args: readonly string[], options: { cwd?: string; input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const result = spawnSync(cmd, args, {
    cwd: options.cwd,
    input: options.input,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a shell pipeline with bash (for the documented coreutils recipes). */
export function runShell(script: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  return run('bash', ['-o', 'pipefail', '-c', script], options);
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so failures reproduce. */
export function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let offset = 0;
  for (let counter = 0; offset < length; counter++) {
    const block = sha256(`${seed}:${counter}`);
    offset += block.copy(out, offset);
  }
  return out;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
