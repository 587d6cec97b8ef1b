import { readdir, lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { hashFilesWithCache } from '../hashing/cached-hash.js';
import type { DigestCache } from '../hashing/digest-cache.js';
import { canonicalPathProblem } from '../hashing/root-digest.js';
import { ModelSourceError, errorMessage } from '../errors/index.js';

/**
 * Which files of a model folder the OpenSSF model-signing format (`model_signing` 1.1.x,
 * serialization method "files") covers, and in which order.
 *
 * - The ignore rules are paths relative to the model folder, matched on whole path
 *   components: "x" ignores the file "x" or everything under the directory "x", and only at
 *   that place. So model_signing's git defaults skip `.git`, `.gitattributes`, `.github` and
 *   `.gitignore` at the top of the folder only: a nested `sub/.gitignore` and a `.DS_Store`
 *   are hashed (unlike our own IGNORED_NAMES, which skips those names at any depth).
 * - Every regular file is listed; empty directories leave no trace; a symbolic link or a
 *   special file is an error (model_signing's default `allow_symlinks: false`).
 * - The order is Python's `sorted()` over `pathlib.PurePosixPath`: component by component,
 *   each component by code point. "weights/a.bin" sorts before "weights-index.json" even
 *   though '-' (0x2d) is below '/' (0x2f) in bytes, so this is not `compareCanonicalPaths`.
 */

/** What `model_signing` ignores by default (`--ignore-git-paths`, on unless turned off). */
export const OMS_GIT_PATHS: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];

export interface OmsFile {
  /** Relative, '/'-separated: the resource name in the predicate. */
  readonly name: string;
  readonly size: number;
}

export interface OmsHashedFile extends OmsFile {
  readonly sha256: string;
}

/** Python `PurePosixPath.__lt__` order: component lists compared, components by code point (= UTF-8 byte order). */
export function compareOmsPaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(Buffer.from(pa[i]!, 'utf8'), Buffer.from(pb[i]!, 'utf8'));
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/**
 * An ignore path as model_signing records it: relative to the model folder, '/'-separated,
 * without '.' segments or a trailing slash. Paths that are absolute, leave the folder, or
 * name the folder itself (which would ignore every file) are refused.
 */
export function normalizeOmsIgnorePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new ModelSourceError('an ignore path must be a non-empty string');
  if (path.startsWith('/') || isAbsolute(path)) throw new ModelSourceError(`ignore path ${JSON.stringify(path)} must be relative to the model folder`);
  const normal = posix.normalize(path.split(sep).join('/')).replace(/\/+$/, '');
  if (normal === '.' || normal === '') throw new ModelSourceError(`ignore path ${JSON.stringify(path)} names the whole model folder`);
  if (normal === '..' || normal.startsWith('../')) throw new ModelSourceError(`ignore path ${JSON.stringify(path)} is outside the model folder`);
  return normal;
}

export function isOmsIgnored(name: string, ignore: readonly string[]): boolean {
  return ignore.some((p) => name === p || name.startsWith(p + '/'));
}

/**
 * Where `signaturePath` lies inside `modelDir`, as model_signing's CLI works it out (both
 * resolved through symlinks, the signature's own name kept since it may not exist yet), or
 * undefined when it is outside the folder.
 */
export async function signaturePathInside(modelDir: string, signaturePath: string): Promise<string | undefined> {
  const root = await modelRealpath(modelDir);
  let parent = resolve(dirname(signaturePath));
  try {
    parent = await realpath(parent);
  } catch {
    // The directory does not exist yet, so the signature cannot be inside the model.
  }
  const rel = relative(root, join(parent, basename(signaturePath)));
  if (rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith('..' + sep)) return undefined;
  return rel.split(sep).join('/');
}

async function modelRealpath(modelDir: string): Promise<string> {
  try {
    return await realpath(modelDir);
  } catch (err) {
    throw new ModelSourceError(`cannot open the model folder ${modelDir}: ${errorMessage(err)}`);
  }
}

/**
 * Regular files of a model folder under model_signing's rules (see the module comment), in
 * its order. A symlink, a special file or a path our canonical rules refuse is a ModelSourceError.
 */
export async function listOmsFiles(modelDir: string, ignore: readonly string[]): Promise<OmsFile[]> {
  let top;
  try {
    top = await lstat(modelDir);
  } catch (err) {
    throw new ModelSourceError(`cannot open the model folder ${modelDir}: ${errorMessage(err)}`);
  }
  if (top.isSymbolicLink()) throw new ModelSourceError(`${modelDir} is a symbolic link; give the model folder itself`);
  if (!top.isDirectory()) throw new ModelSourceError(`${modelDir} is not a directory; only model folders are supported`);
  const files: OmsFile[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const name = prefix + entry.name;
      if (isOmsIgnored(name, ignore)) continue;
      const full = join(dir, entry.name);
      const problem = canonicalPathProblem(name);
      if (problem) throw new ModelSourceError(`${full}: ${problem}`);
      if (entry.isSymbolicLink()) throw new ModelSourceError(`${full} is a symbolic link; model_signing's default (allow_symlinks: false) refuses it`);
      if (entry.isDirectory()) await walk(full, name + '/');
      else if (entry.isFile()) sizes.push(lstat(full).then((info) => ({ name, size: info.size })));
      else throw new ModelSourceError(`${full} is not a regular file or directory`);
    }
  }
  // Sizes of regular files are read concurrently: folders of thousands of shards list fast.
  const sizes: Promise<OmsFile>[] = [];
  try {
    await walk(modelDir, '');
  } finally {
    files.push(...(await Promise.all(sizes)));
  }
  return files.sort((a, b) => compareOmsPaths(a.name, b.name));
}

/** Plain SHA-256 of every file (model_signing's "files" serialization), spread over worker threads; unchanged files from the digest cache. */
export async function hashOmsFiles(
  modelDir: string,
  files: readonly OmsFile[],
  options: { signal?: AbortSignal; cache?: DigestCache } = {},
): Promise<{ files: OmsHashedFile[]; bytesHashed: number; bytesFromCache: number }> {
  const hashed = await hashFilesWithCache(
    modelDir,
    files.map((f) => ({ path: f.name, size: f.size })),
    options.cache,
    { rule: { name: 'modelship-root-v1' }, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return { files: hashed.files.map((f) => ({ name: f.path, size: f.size, sha256: f.sha256 })), bytesHashed: hashed.bytesHashed, bytesFromCache: hashed.bytesFromCache };
}
