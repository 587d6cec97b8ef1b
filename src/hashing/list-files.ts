import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { canonicalPathProblem, compareCanonicalPaths } from './root-digest.js';

/** Version-control and OS litter that is never part of a model. */
export const IGNORED_NAMES: ReadonlySet<string> = new Set(['.git', '.gitattributes', '.github', '.gitignore', '.DS_Store']);

export interface ListedFile {
  readonly path: string;
  readonly size: number;
}

/** Nothing skipped: for bundles, where every file must be one the manifest lists. */
export const IGNORE_NOTHING: ReadonlySet<string> = new Set();

/**
 * Regular files under `root` in canonical order, skipping `ignore` (IGNORED_NAMES for a
 * source model folder). Symlinks and special files are refused, never followed: a model
 * folder must not reach outside itself.
 */
export async function listModelFiles(root: string, ignore: ReadonlySet<string> = IGNORED_NAMES): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (ignore.has(entry.name)) continue;
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      const problem = canonicalPathProblem(rel);
      if (problem) throw new Error(`${full}: ${problem}`);
      if (entry.isSymbolicLink()) throw new Error(`${full} is a symbolic link; model folders may hold only regular files`);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push({ path: rel, size: (await lstat(full)).size });
      else throw new Error(`${full} is not a regular file`);
    }
  }
  await walk(root);
  return files.sort((a, b) => compareCanonicalPaths(a.path, b.path));
}
