import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The modelship checkout this code runs from (works from src/ under tsc's dist/ too). */
export const PROJECT_ROOT: string = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'modelship') return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the modelship package.json above ${start}`);
  }
}

export const MODELSHIP_VERSION: string = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** Local state (dev server data, demo keys, bundles) lives here unless configured otherwise. */
export const DATA_DIR: string = process.env.MODELSHIP_HOME ?? join(PROJECT_ROOT, '.modelship');
