import { resolve } from 'node:path';
import { verifyBundle } from '../bundle/verify.js';
import { loadPublicKey } from '../crypto/keys.js';
import { CliError, printJson, say } from './output.js';

export async function verifyCommand(bundle: string, options: { key: string; json?: boolean }): Promise<void> {
  const key = await loadPublicKey(resolve(options.key));
  const report = await verifyBundle(resolve(bundle), key);
  if (options.json) printJson(report);
  else {
    say(`verifying ${report.bundleDir} with kid ${report.kid}`);
    for (const c of report.checks) say(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(12)} ${c.detail}`);
  }
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.check);
    throw new CliError(`verification FAILED: ${failed.join(', ')}`);
  }
  if (!options.json) say('verified: every check passed');
}
