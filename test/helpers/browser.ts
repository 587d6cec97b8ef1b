// Headless Chromium for the screenshot tests: Debian's `chromium` package driven by
// playwright-core (which downloads no browser of its own). Screenshots go to a gitignored folder.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/paths.js';

export const CHROMIUM = process.env.MODELSHIP_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS_DIR = process.env.MODELSHIP_SCREENSHOTS_DIR ?? join(PROJECT_ROOT, '.modelship', 'screenshots');

/**
 * Why the browser tests cannot run here, or undefined when they can. CI runs as root, where
 * scripts/setup.sh installs chromium: a missing browser there is a failure, not a skip.
 */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const root = process.getuid?.() === 0;
  const reason = `no Chromium at ${CHROMIUM}: ${root ? 'run scripts/setup.sh (as root it apt-installs chromium)' : 'install Debian\'s chromium (sudo apt-get install chromium), or set MODELSHIP_CHROMIUM'}`;
  if (process.env.CI && root) throw new Error(`${reason} (CI runs as root, so the screenshot tests must run)`);
  process.stderr.write(`ui-screenshots: SKIPPED: ${reason}\n`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  // --no-sandbox: Chromium's sandbox refuses to run as root (CI), and the pages are our own.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
