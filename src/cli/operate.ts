import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { abortUpdate, approveUpdate, promoteUpdate } from '../workflow-definitions.js';
import { adminCredentialsFromEnvironment, ServingAdminClient } from '../serving-client/admin-client.js';
import { parseManifestDraft } from '../bundle/manifest.js';
import { generateLoad } from '../load/load-generator.js';
import { connectClient } from './client.js';
import { CliError, printJson, say } from './output.js';

type Control = 'approve' | 'promote' | 'abort';

/** approve | promote [--full] | abort [--reason]: Temporal updates, checked by the workflow's validators. */
export async function controlCommand(control: Control, releaseId: string, options: { full?: boolean; reason?: string; json?: boolean }): Promise<void> {
  const { client, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(releaseId);
    let answer: string;
    try {
      if (control === 'approve') answer = await handle.executeUpdate(approveUpdate);
      else if (control === 'promote') answer = await handle.executeUpdate(promoteUpdate, { args: [{ full: options.full ?? false }] });
      else answer = await handle.executeUpdate(abortUpdate, { args: [{ ...(options.reason ? { reason: options.reason } : {}) }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`${control} refused: ${err.cause?.message ?? err.message}`);
      throw new CliError(`${control} failed for ${releaseId}: ${(err as Error).message}`);
    }
    if (options.json) return printJson({ releaseId, control, accepted: true, answer });
    say(`${releaseId}: ${answer}`);
  } finally {
    await close();
  }
}

async function servingAdmin(options: { url?: string }): Promise<ServingAdminClient> {
  const baseUrl = options.url ?? process.env.MODELSHIP_SERVING_URL ?? 'http://127.0.0.1:8300';
  const secret = await adminCredentialsFromEnvironment();
  if (!secret) throw new CliError('no serving admin key: set MODELSHIP_SERVING_ADMIN_KEY_FILE or MODELSHIP_SERVING_ADMIN_KEY', 2);
  return new ServingAdminClient({ baseUrl, secret });
}

/** The fast way back: canary cleared if there is one, else the previous stable restored. */
export async function rollbackCommand(model: string, options: { url?: string; json?: boolean }): Promise<void> {
  const result = await (await servingAdmin(options)).rollback(model);
  if (options.json) return printJson(result);
  say(`${model}: ${result.message}`);
  say(`  stable  ${result.status.slots.stable?.version ?? '(none)'}  canary ${result.status.slots.canary?.version ?? '(none)'}  weight ${result.status.canaryWeight}%`);
}

/** Seeded synthetic traffic at a set rate; the input signature comes from a bundle's model.yaml. */
export async function loadCommand(
  model: string,
  options: { bundle: string; rate: string; duration: string; url?: string; seed?: string; concurrency?: string; json?: boolean },
): Promise<void> {
  const manifest = parseManifestDraft(await readFile(resolve(options.bundle, 'model.yaml'), 'utf8'));
  const summary = await generateLoad({
    baseUrl: options.url ?? process.env.MODELSHIP_SERVING_URL ?? 'http://127.0.0.1:8300',
    model,
    inputs: manifest.signature.inputs,
    ratePerSecond: Number(options.rate),
    durationSeconds: Number(options.duration),
    ...(options.seed ? { seed: Number(options.seed) } : {}),
    ...(options.concurrency ? { concurrency: Number(options.concurrency) } : {}),
    ...(options.json ? {} : { onProgress: (s) => say(`  ${s.elapsedSeconds}s sent ${s.sent} ok ${s.ok} errors ${s.errors} p99 ${s.latencyMs.p99} ms`) }),
  });
  if (options.json) return printJson(summary);
  say(`sent ${summary.sent} in ${summary.elapsedSeconds}s: ok ${summary.ok}, errors ${summary.errors}, skipped ${summary.skipped}`);
  say(`  by slot ${Object.entries(summary.bySlot).map(([k, v]) => `${k}=${v}`).join(' ')}  latency p50 ${summary.latencyMs.p50} ms p99 ${summary.latencyMs.p99} ms`);
  if (summary.errors > 0) throw new CliError(`${summary.errors} requests failed`);
}
