import { resolve } from 'node:path';
import { formatOmsReport, signOmsCommand, verifyOmsCommand } from '../oms/oms-command.js';
import { CliError, printJson, say } from './output.js';

/** `modelship sign <model> --format oms`: an OpenSSF model-signing bundle with an ECDSA key. */
export async function signCommand(model: string, options: { format: string; key: string; out: string; json?: boolean; digestCache?: string }): Promise<void> {
  if (options.format !== 'oms') throw new CliError(`sign supports --format oms (releases sign their own JWS); got ${options.format}`, 2);
  const passphrase = process.env.MODELSHIP_KEY_PASSPHRASE;
  const result = await signOmsCommand(resolve(model), resolve(options.key), resolve(options.out), {
    ...(passphrase ? { passphrase } : {}),
    ...(options.digestCache ? { digestCachePath: resolve(options.digestCache) } : {}),
  });
  if (options.json) return printJson(result);
  say(`signed ${result.files} file(s), ${result.bytes} bytes of ${result.subject.name} (OpenSSF model signing, ${result.predicateType})`);
  say(`  subject sha256:${result.subject.sha256}`);
  if (options.digestCache) say(`  hashed  ${result.bytesHashed} bytes; ${result.bytesFromCache} bytes unchanged since the digest cache saw them`);
  say(`  bundle  ${result.out}`);
}

/** `modelship verify <model> --format oms --signature S --key PUB`: bundles from model_signing or from us. */
export async function verifyOmsCli(model: string, options: { signature?: string; key: string; json?: boolean }): Promise<void> {
  if (!options.signature) throw new CliError('--format oms needs --signature <bundle file>', 2);
  const report = await verifyOmsCommand(resolve(model), resolve(options.signature), resolve(options.key));
  if (options.json) printJson(report);
  else for (const line of formatOmsReport(report)) say(line);
  if (!report.ok) throw new CliError(`verification FAILED: ${report.checks.filter((c) => !c.ok).map((c) => c.check).join(', ')}`);
}
