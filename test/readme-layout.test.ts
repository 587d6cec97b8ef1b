// The README's "## Layout" section is the map a newcomer reads first: it must name every folder
// directly under src/ (an entry is a line starting `src/<folder>/`), and name none that is gone.
// Entries for subfolders (`src/serving/http/`) are allowed; only the top-level folder is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

function layoutSection(readme: string): string {
  const start = readme.search(/^## Layout$/m);
  assert.ok(start >= 0, 'README.md has no "## Layout" section');
  const rest = readme.slice(start + '## Layout'.length);
  const next = rest.search(/^## /m);
  return next < 0 ? rest : rest.slice(0, next);
}

function namedSrcFolders(section: string): Set<string> {
  const named = new Set<string>();
  for (const line of section.split('\n')) {
    const m = /^src\/([A-Za-z0-9_.-]+)\//.exec(line);
    if (m) named.add(m[1]!);
  }
  return named;
}

test('the README Layout section names every folder directly under src/, and only those', () => {
  const section = layoutSection(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8'));
  const named = namedSrcFolders(section);
  const folders = readdirSync(join(PROJECT_ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.ok(folders.length > 0);
  const missing = folders.filter((f) => !named.has(f));
  assert.deepEqual(missing, [], `README "## Layout" lacks an entry (a line starting src/<folder>/) for: ${missing.join(', ')}`);
  const gone = [...named].filter((f) => !folders.includes(f)).sort();
  assert.deepEqual(gone, [], `README "## Layout" names src/ folders that do not exist: ${gone.join(', ')}`);
});

test('the Layout check reads entries, not mentions', () => {
  const section = 'text about src/foo/ in prose\n```\nsrc/bar/     owns bar\nsrc/serving/http/  the server\n  src/baz/ indented\n```\n';
  assert.deepEqual([...namedSrcFolders(section)].sort(), ['bar', 'serving']);
  assert.equal(layoutSection('# x\n## Layout\nsrc/a/ one\n## Next\nsrc/b/ two\n').includes('src/b/'), false);
});
