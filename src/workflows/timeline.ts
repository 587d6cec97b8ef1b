/**
 * The one-line summaries of activities and timers, so the Web UI's timeline reads as the
 * release's lifecycle ("hash model files", "bake 20% for 2m") rather than function names.
 * Summaries are user metadata on the commands: changing their wording does not affect replay.
 */
import { extensionSuffix, operatorWaitSummary } from '../release/canary-wording.js';
import { proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities/index.js';
import { baseName, fmtDuration, oneLine, truncateUtf8 } from '../release/markdown.js';
import type { ModelSource, SmokeOptions } from '../release/types.js';

const MAX_SUMMARY_BYTES = 200;

/** The release's activities with this call's summary on top of the stage's options. */
export function activitiesWithSummary(options: ActivityOptions, summary: string): ActivityInterfaceFor<ReleaseActivities> {
  return proxyActivities<ReleaseActivities>({ ...options, summary: truncateUtf8(oneLine(summary), MAX_SUMMARY_BYTES) });
}

export const timeline = {
  export: (source: ModelSource) =>
    source.kind === 'onnx' ? `export ${baseName(source.path)}: inspect the ONNX model, write the bundle` : `export ${baseName(source.input)} to ONNX with the ${source.exporter} exporter`,
  hash: () => 'hash model files (SHA-256, root digest)',
  sign: (keyPath: string) => `sign model.yaml (Ed25519 JWS) with ${baseName(keyPath)}`,
  attest: (keyPath: string) => `attest SLSA provenance (DSSE) with ${baseName(keyPath)}`,
  smoke: (smoke: SmokeOptions | undefined) => {
    const plugins = smoke?.plugins?.length ?? 0;
    return `smoke test: sandboxed inference vs onnxruntime-node${plugins ? ` + ${plugins} plugin${plugins > 1 ? 's' : ''}` : ''}`;
  },
  servingTarget: () => 'check for a serving runtime',
  deploy: (model: string, shadow: boolean) => `deploy canary of ${model}${shadow ? ' (shadow traffic on)' : ''}`,
  setWeight: (weight: number) => `shift ${weight}% of traffic to the canary`,
  bake: (weight: number, seconds: number, extension: number, maxExtensions: number) =>
    `bake ${weight}% for ${fmtDuration(seconds)}${extensionSuffix(extension, maxExtensions)}`,
  analyze: (weight: number, windowSeconds: number) => `judge canary vs stable at ${weight}% (last ${fmtDuration(windowSeconds)})`,
  waitForOperator: (why: string, timeoutSeconds: number) => operatorWaitSummary(why, fmtDuration(timeoutSeconds)),
  promote: (model: string) => `promote canary of ${model} to stable (100%)`,
  rollback: (model: string, reason: string) => `roll back canary of ${model}: ${reason}`,
} as const;

/** The batch rollout's activities and timers. */
export const batchTimeline = {
  inspect: (releaseId: string) => `look up ${releaseId}: it already exists`,
  await: (releaseId: string, startedBy: string) => `wait for ${releaseId} (already running, started by ${startedBy})`,
  abort: (releaseId: string) => `abort ${releaseId}: the batch halted`,
  pause: (seconds: number, nextWave: number, waves: number) => `pause ${fmtDuration(seconds)} before wave ${nextWave} of ${waves}`,
} as const;

/** Timer options with a summary (sleep / condition). */
export function timer(summary: string): { summary: string } {
  return { summary: truncateUtf8(oneLine(summary), MAX_SUMMARY_BYTES) };
}
