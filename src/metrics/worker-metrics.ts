import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReleaseActivities } from '../activities/index.js';
import type { StageName } from '../release/stages.js';
import { RELEASE_OUTCOMES, type ReleaseOutcomeLabel } from './release-outcome.js';

/** Which release stage each activity belongs to (`batch`: a batch rollout's look at its releases); typed so a new activity must be placed here. */
export const ACTIVITY_STAGE: Readonly<Record<keyof ReleaseActivities, StageName | 'batch'>> = {
  exportModel: 'export',
  hashBundle: 'hash',
  signManifest: 'sign',
  attestProvenance: 'attest',
  smokeTest: 'smoke',
  servingTarget: 'canary',
  deployCanary: 'canary',
  setCanaryWeight: 'canary',
  analyzeCanary: 'canary',
  promoteCanary: 'canary',
  rollbackCanary: 'canary',
  inspectRelease: 'batch',
  awaitRelease: 'batch',
  abortRelease: 'batch',
};

export type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled';

/** Activity attempts run from milliseconds (sign) to hours (hashing a large model), seconds. */
export const STAGE_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400];
/** Whole releases: seconds without a canary, hours with bakes and approvals. */
export const RELEASE_DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];

/**
 * The worker's own Prometheus metrics (Temporal Core's are appended when served), in a
 * Registry of its own like the serving runtime's. Counts are per worker process.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly releases = new Counter({
    name: 'modelship_releases_total',
    help: 'Releases finished on this worker, by outcome (released, promoted, rolled_back, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly releaseDuration = new Histogram({
    name: 'modelship_release_duration_seconds',
    help: 'Workflow time from a release run start to its end, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: RELEASE_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly stageDuration = new Histogram({
    name: 'modelship_stage_duration_seconds',
    help: 'Time of each activity attempt of a release stage on this worker, by stage, activity and outcome (succeeded, failed, cancelled).',
    labelNames: ['stage', 'activity', 'outcome'] as const,
    buckets: STAGE_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly activityFailures = new Counter({
    name: 'modelship_activity_failures_total',
    help: 'Failed activity attempts, by activity and error type (the ApplicationFailure type seen in history).',
    labelNames: ['activity', 'error_type'] as const,
    registers: [this.registry],
  });
  private readonly activityRetries = new Counter({
    name: 'modelship_activity_retries_total',
    help: 'Activity attempts after the first (Temporal retries), by activity.',
    labelNames: ['activity'] as const,
    registers: [this.registry],
  });
  private readonly hashedBytes = new Counter({
    name: 'modelship_hashed_bytes_total',
    help: 'Bytes of model files read through SHA-256 by the hash stage (files reused from a checkpoint are not hashed again).',
    registers: [this.registry],
  });
  private readonly coreUp = new Gauge({
    name: 'modelship_core_metrics_up',
    help: '1 when the Temporal Core metrics were appended to this scrape, 0 when they could not be read.',
    registers: [this.registry],
  });

  private readonly activitiesRunning = new Gauge({
    name: 'modelship_activities_running',
    help: 'Activity attempts running now on this worker, by activity (with modelship_hashed_bytes_total: a hash that makes no progress).',
    labelNames: ['activity'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    for (const activity of Object.keys(ACTIVITY_STAGE)) this.activitiesRunning.set({ activity }, 0);
    // Every outcome exists from the start, so rates and ratios work before the first failure.
    for (const outcome of RELEASE_OUTCOMES) this.releases.inc({ outcome }, 0);
    this.hashedBytes.inc(0);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  releaseFinished(outcome: ReleaseOutcomeLabel, seconds: number): void {
    this.releases.inc({ outcome });
    this.releaseDuration.observe({ outcome }, Math.max(0, seconds));
  }

  activityStarted(activity: string, attempt: number): void {
    this.activitiesRunning.inc({ activity });
    if (attempt > 1) this.activityRetries.inc({ activity });
  }

  activityFinished(activity: string, seconds: number, outcome: AttemptOutcome, errorType?: string): void {
    this.activitiesRunning.dec({ activity });
    const stage = (ACTIVITY_STAGE as Record<string, string | undefined>)[activity] ?? 'other';
    this.stageDuration.observe({ stage, activity, outcome }, seconds);
    if (outcome === 'failed') this.activityFailures.inc({ activity, error_type: errorType ?? 'Error' });
  }

  bytesHashed(bytes: number): void {
    this.hashedBytes.inc(bytes);
  }

  coreMetricsRead(ok: boolean): void {
    this.coreUp.set(ok ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
