/**
 * Batch benchmark: one BatchRolloutWorkflow releasing 100 small models (the sample MLP under 100
 * names; export → hash → sign → attest → smoke, no deployment) on a local dev server with one
 * worker, all on this machine. Reports wall time and releases per minute, and per stage the
 * activity's own time against Temporal's overhead around it, read from each release's history:
 * queue wait (scheduled → started) plus the workflow's gap (previous stage done → scheduled).
 * Every release must succeed, or the bench fails.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { temporal } from '@temporalio/proto';
import { BATCH_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import { batchStartOptions } from '../src/batch/start-metadata.js';
import { ROLLOUT_DEFAULTS } from '../src/batch/rollout-file.js';
import type { BatchStatus, Rollout } from '../src/batch/types.js';
import { releaseIdFor } from '../src/release/ids.js';
import { SAMPLE_MODEL } from '../test/helpers/fixtures.js';
import { startReleaseEnv } from '../test/helpers/release-env.js';
import { formatSeconds, median } from './format.js';
import { timestampMs } from '../src/report/release-report.js';
import { percentile } from '../src/canary/analysis/percentiles.js';
import { BenchFailure, type BenchContext, type BenchOptions, type BenchResult, type BenchRow, type Benchmark } from './types.js';

const RELEASES = 100;
const WAVE = 25;
const CONCURRENCY = 8;
const STAGES = ['exportModel', 'hashBundle', 'signManifest', 'attestProvenance', 'smokeTest'] as const;

interface StageTimes {
  readonly activityMs: number[];
  readonly overheadMs: number[];
}

export const batchBenchmark: Benchmark = {
  name: 'batch',

  plan(_options: BenchOptions): string[] {
    return [`batch: one BatchRolloutWorkflow of ${RELEASES} small-model releases (waves of ${WAVE}, ${CONCURRENCY} at once) on a local dev server, one worker`];
  },

  async run(ctx: BenchContext): Promise<BenchResult> {
    ctx.progress('batch: starting a dev server and a worker');
    const env = await startReleaseEnv();
    try {
      const tag = randomBytes(3).toString('hex');
      const rollout: Rollout = {
        name: `bench-${tag}`,
        signingKeyPath: env.key.privateKeyPath,
        waveSize: WAVE,
        concurrency: CONCURRENCY,
        pauseBetweenWavesSeconds: 0,
        halt: { onHalt: 'let-finish' },
        continueAsNewEveryWaves: ROLLOUT_DEFAULTS.continueAsNewEveryWaves,
        rerunFailed: false,
        entries: Array.from({ length: RELEASES }, (_, i) => ({
          name: `bench-${tag}-${String(i).padStart(3, '0')}`,
          version: '1.0.0',
          source: { kind: 'onnx' as const, path: SAMPLE_MODEL },
          canary: false as const,
        })),
      };
      const started = process.hrtime.bigint();
      const handle = await env.client.workflow.start(BATCH_WORKFLOW_TYPE, { taskQueue: env.taskQueue, ...batchStartOptions(rollout, `bench-${tag}`) });
      const status = (await handle.result()) as BatchStatus;
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (status.totals.released !== RELEASES) throw new BenchFailure(`batch: ${status.totals.released} of ${RELEASES} released (${JSON.stringify(status.totals)})`);
      ctx.progress(`batch: ${RELEASES} releases in ${formatSeconds(wallSeconds)}; reading their histories`);

      const times = new Map(STAGES.map((s) => [s, { activityMs: [], overheadMs: [] } as StageTimes]));
      const releaseMs: number[] = [];
      for (const entry of rollout.entries) {
        const history = await env.client.workflow.getHandle(releaseIdFor(entry.name, entry.version)).fetchHistory();
        releaseMs.push(stageTimes(history.events ?? [], times));
      }
      const rows: BenchRow[] = [
        { bench: 'batch', subject: `BatchRolloutWorkflow, ${RELEASES} releases`, input: `waves of ${WAVE}, ${CONCURRENCY} at once`, runs: 1, medianSeconds: wallSeconds, throughput: { perSecond: RELEASES / wallSeconds, unit: 'releases' } },
        { bench: 'batch', subject: 'one release (workflow start to end)', input: 'median of 100', runs: RELEASES, medianSeconds: median(releaseMs) / 1000 },
      ];
      const notes: string[] = [];
      for (const stage of STAGES) {
        const t = times.get(stage)!;
        const activity = median(t.activityMs);
        const overhead = median(t.overheadMs);
        rows.push({ bench: 'batch', subject: `${stage}: activity / Temporal overhead`, input: 'median of 100', runs: RELEASES, medianSeconds: activity / 1000, ratio: `+${(overhead / 1000).toFixed(3)} s`, check: `overhead p95 ${(percentile(t.overheadMs, 95) / 1000).toFixed(3)} s` });
      }
      notes.push(
        `batch: ${((RELEASES / wallSeconds) * 60).toFixed(1)} releases/min; the worker, the dev server and the bench share ${availableParallelism()} cores; a worker decrypts each signing key (PBKDF2, 600k iterations, ~0.3 s of CPU) once per process`,
        'batch: "Temporal overhead" = queue wait (ActivityTaskScheduled → Started) + the workflow gap (previous stage done → this stage scheduled), from each release\'s history; it includes waiting for a free activity slot when 8 releases run at once',
      );
      return { rows, notes };
    } finally {
      await env.stop();
    }
  },
};

function ms(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return timestampMs(t) ?? 0;
}

/** Adds one release's stage figures to `times`; returns the release's duration in ms. */
function stageTimes(events: temporal.api.history.v1.IHistoryEvent[], times: Map<string, StageTimes>): number {
  const scheduled = new Map<string, { type: string; at: number }>();
  const startedAt = new Map<string, number>();
  let previousDone = ms(events[0]?.eventTime);
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '', at: ms(e.eventTime) });
    if (e.activityTaskStartedEventAttributes) startedAt.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), ms(e.eventTime));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId))!;
      const start = startedAt.get(String(done.scheduledEventId))!;
      const t = times.get(s.type);
      if (t) {
        t.activityMs.push(ms(e.eventTime) - start);
        t.overheadMs.push(start - s.at + (s.at - previousDone));
      }
      previousDone = ms(e.eventTime);
    }
  }
  return ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
}
