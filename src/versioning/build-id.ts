import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The worker's build id, derived from the code its workflows run: SHA-256 over every compiled
 * module reachable by static import from the workflow entry points (the same closure the SDK
 * bundles), each under its path relative to the package root, plus `name@version` of every
 * npm package that closure imports (e.g. the @temporalio/workflow runtime), plus `extras`
 * (settings that add workflow code, such as the tracing interceptors).
 *
 * Why not hash the webpack bundle itself: its module ids and inline source map hold paths
 * relative to the worker's cwd, so the same code started from another folder got another id.
 * Activity-only changes keep the id on purpose: such a deploy rolls in place, and in-flight
 * releases carry on with the new activity code (which must accept what the unchanged workflow
 * sends, as before). A change to an activity's contract that the workflow code does not show
 * needs MODELSHIP_BUILD_ID.
 */
export function workflowCodeBuildId(entryFiles: readonly string[], extras: readonly string[] = []): string {
  const { files, packages } = workflowCodeClosure(entryFiles);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`file ${file.path}\n`).update(file.content).update('\n');
  }
  for (const pkg of packages) hash.update(`package ${pkg}\n`);
  for (const extra of [...extras].sort()) hash.update(`extra ${extra}\n`);
  return `wf-${hash.digest('hex').slice(0, 16)}`;
}

export interface WorkflowCodeClosure {
  /** Sorted by path (relative to the package root, with /). */
  readonly files: readonly { readonly path: string; readonly content: Buffer }[];
  /** `name@version`, sorted. */
  readonly packages: readonly string[];
}

// Static imports and re-exports as tsc emits them (also multi-line), side-effect imports, import().
const IMPORT_PATTERNS = [/\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];

export function workflowCodeClosure(entryFiles: readonly string[]): WorkflowCodeClosure {
  const root = packageRoot(resolve(entryFiles[0] ?? '.'));
  const seen = new Map<string, Buffer>();
  const packages = new Set<string>();
  const queue = entryFiles.map((f) => resolve(f));
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const content = readFileSync(file);
    seen.set(file, content);
    // Comments may quote import statements (documentation): only code counts.
    const text = content.toString('utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const pattern of IMPORT_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.') || specifier.startsWith('/')) queue.push(resolve(dirname(file), specifier));
        else if (!specifier.startsWith('node:')) packages.add(packageVersion(specifier, dirname(file)));
      }
    }
  }
  const files = [...seen].map(([file, content]) => ({ path: relative(root, file).split(sep).join('/'), content }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, packages: [...packages].sort() };
}

function packageRoot(start: string): string {
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(start);
  }
}

/** `name@version` of the package `specifier` resolves to from `fromDir`, found as Node finds it. */
function packageVersion(specifier: string, fromDir: string): string {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return `${name}@${(JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? '?'}`;
    if (dirname(dir) === dir) throw new Error(`workflow code imports ${specifier}, which is not installed above ${fromDir}`);
  }
}
