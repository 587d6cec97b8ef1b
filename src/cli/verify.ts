import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { verifyBundle } from '../bundle/verify.js';
import { resolveTrust } from '../trust/trust-source.js';
import { CliError, printJson, say } from './output.js';

export async function verifyCommand(
  bundle: string,
  options: { key?: string; keyring?: string; policy?: string; at?: string; json?: boolean; plainHttp?: boolean },
): Promise<void> {
  if ((options.key === undefined) === (options.policy === undefined)) throw new CliError('give --key <public key>, or --policy <file> with --keyring <file>');
  if (options.policy !== undefined && options.keyring === undefined) throw new CliError('--policy needs --keyring <keyring.json>');
  const at = options.at === undefined ? new Date() : new Date(options.at);
  if (Number.isNaN(at.getTime())) throw new CliError(`--at ${options.at} is not a date (ISO 8601, e.g. 2025-06-01T00:00:00Z)`);
  const trust = await resolveTrust(
    options.key !== undefined ? { kind: 'public-key', path: options.key } : { kind: 'keyring-and-policy', keyringPath: options.keyring!, policyPath: options.policy! },
    at,
  );
  // A registry or OCI layout reference (and no folder of that name) is pulled and verified.
  const { looksLikeReference } = await import('../oci/reference.js');
  const remote = looksLikeReference(bundle) && !existsSync(bundle);
  const report = remote
    ? { ...(await (await import('../store/verify-reference.js')).verifyReference((await import('./oci.js')).storeFromCli(options), bundle, trust)), bundleDir: bundle }
    : await verifyBundle(resolve(bundle), trust);
  if (options.json) printJson(report);
  else {
    if (report.policy) {
      say(`verifying ${report.bundleDir} for model ${report.policy.modelName} under ${report.policy.rule ?? 'no rule'} (threshold ${report.policy.threshold}) at ${at.toISOString()}`);
      for (const s of report.policy.signatures) say(`  sig ${s.index} ${s.status.padEnd(19)} ${s.reason}`);
    } else say(`verifying ${report.bundleDir} ${report.kid ? `with kid ${report.kid}` : 'under the keyring and policy (no signature counted)'}`);
    for (const c of report.checks) say(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check.padEnd(12)} ${c.detail}`);
  }
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.check);
    throw new CliError(`verification FAILED: ${failed.join(', ')}`);
  }
  if (!options.json) say('verified: every check passed');
}
