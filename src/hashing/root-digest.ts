import { sha256Hex } from './stream-hash.js';

/**
 * The root digest (rules modelship-root-v1 and -v2; they differ only in file digests, see
 * digest-rule.ts).
 *
 * 1. Paths are relative to the model folder, '/'-separated, UTF-8, with no '.', '..' or empty
 *    segments and no control characters (a newline would forge a line below).
 * 2. Files are sorted by the bytes of their UTF-8 path (C locale order).
 * 3. Each file contributes the line `<file digest lowercase hex><space><space><path>\n`,
 *    exactly what `sha256sum` prints for files of one shard.
 * 4. The root digest is the SHA-256 of the concatenated lines.
 *
 * So, when no file exceeds one shard, it can be checked with coreutils alone:
 *   cd model && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum
 */
export interface PathDigest {
  readonly path: string;
  readonly sha256: string;
}

export function compareCanonicalPaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function assertCanonicalPath(path: string): void {
  const problem = canonicalPathProblem(path);
  if (problem) throw new Error(`path ${JSON.stringify(path)} is not allowed in a model: ${problem}`);
}

export function canonicalPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'control characters and backslashes are not allowed';
  if (path.startsWith('/')) return 'absolute paths are not allowed';
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return "empty, '.' and '..' segments are not allowed";
  return undefined;
}

export function rootDigestLines(files: readonly PathDigest[]): string {
  const sorted = [...files].sort((a, b) => compareCanonicalPaths(a.path, b.path));
  let previous: string | undefined;
  let lines = '';
  for (const file of sorted) {
    assertCanonicalPath(file.path);
    if (file.path === previous) throw new Error(`path ${JSON.stringify(file.path)} is listed twice`);
    if (!/^[0-9a-f]{64}$/.test(file.sha256)) throw new Error(`digest of ${file.path} is not lowercase SHA-256 hex`);
    lines += `${file.sha256}  ${file.path}\n`;
    previous = file.path;
  }
  return lines;
}

export function rootDigest(files: readonly PathDigest[]): string {
  return sha256Hex(rootDigestLines(files));
}
