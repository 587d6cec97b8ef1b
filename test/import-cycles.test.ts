// No import circle between files under src/ (type-only imports included: a circle of types is
// still a circle a reader has to untangle). Reads the TypeScript sources, not dist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

const SRC = join(PROJECT_ROOT, 'src');
const IMPORT = /\b(?:import|export)\s[^'";]*?\sfrom\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Each file's relative imports, resolved to source files (comments stripped: they may quote imports). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(
    files.map((file) => {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      const targets = [...code.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts')).filter((t) => known.has(t));
      return [file, targets];
    }),
  );
}

/** Strongly connected components with more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1) found.push(component.map((f) => relative(PROJECT_ROOT, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import circle between files under src/', () => {
  const graph = importGraph(sourceFiles(SRC));
  assert.ok(graph.size > 100, `expected the source tree, found ${graph.size} files`);
  assert.deepEqual(circles(graph), []);
});

test('the check finds a circle when there is one', () => {
  const a = join(SRC, 'a.ts');
  const b = join(SRC, 'b.ts');
  assert.deepEqual(circles(new Map([[a, [b]], [b, [a]]])), [['src/a.ts', 'src/b.ts']]);
});

// The serving layers point one way: protocol and http know control and dataplane, never the reverse,
// so a new protocol is a new folder under protocol/ and the data plane knows no protocol.
test('serving: control and dataplane import nothing from protocol or http', () => {
  const serving = join(SRC, 'serving');
  const lower = [join(serving, 'control'), join(serving, 'dataplane')];
  const upper = [join(serving, 'protocol'), join(serving, 'http')];
  const graph = importGraph(sourceFiles(SRC));
  const within = (file: string, dirs: readonly string[]) => dirs.some((d) => file.startsWith(`${d}/`));
  const upward = [...graph].flatMap(([file, targets]) => (within(file, lower) ? targets.filter((t) => within(t, upper)).map((t) => `${relative(PROJECT_ROOT, file)} -> ${relative(PROJECT_ROOT, t)}`) : []));
  assert.ok([...graph.keys()].some((f) => within(f, lower)), 'no files under src/serving/control or dataplane');
  assert.deepEqual(upward, []);
});
