import { lstat, readdir, realpath, stat } from 'node:fs/promises';
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
 * source model folder). Special files are refused. Symbolic links are refused too, unless
 * `allowSymlinks`: then a link to a regular file inside the model root counts as that file
 * (its size is the target's); a link that leaves the root, or to a folder, is still refused.
 */
export async function listModelFiles(
  root: string,
  ignore: ReadonlySet<string> = IGNORED_NAMES,
  options: { readonly allowSymlinks?: boolean } = {},
): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  const realRoot = options.allowSymlinks ? await realpath(root) : root;
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (ignore.has(entry.name)) continue;
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      const problem = canonicalPathProblem(rel);
      if (problem) throw new Error(`${full}: ${problem}`);
      if (entry.isSymbolicLink()) {
        if (!options.allowSymlinks) throw new Error(`${full} is a symbolic link; model folders may hold only regular files (allow symlinks to follow links inside the model)`);
        const target = await realpath(full).catch(() => undefined);
        const inside = target !== undefined && !relative(realRoot, target).startsWith('..') && !relative(realRoot, target).startsWith(sep) && target !== realRoot;
        if (!target || !inside) throw new Error(`${full} is a symbolic link that leaves the model root (${target ?? 'dangling'}); refused`);
        const info = await stat(target);
        if (!info.isFile()) throw new Error(`${full} links to something that is not a regular file; only links to files are followed`);
        files.push({ path: rel, size: info.size });
        continue;
      }
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) sizes.push(lstat(full).then((info) => ({ path: rel, size: info.size })));
      else throw new Error(`${full} is not a regular file`);
    }
  }
  // Sizes of regular files are read concurrently: folders of thousands of shards list fast.
  const sizes: Promise<ListedFile>[] = [];
  try {
    await walk(root);
  } finally {
    files.push(...(await Promise.all(sizes)));
  }
  return files.sort((a, b) => compareCanonicalPaths(a.path, b.path));
}
