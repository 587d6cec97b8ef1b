import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { PayloadCodec, WorkerDeploymentVersion } from '@temporalio/common';
import { Worker, type InjectedSinks, type NativeConnection, type WorkerOptions, type WorkerPlugin } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { activityMetricsInterceptor } from './metrics/activity-interceptor.js';
import type { ReleaseMetricsSinks } from './metrics/sinks.js';
import type { WorkerMetrics } from './metrics/worker-metrics.js';
import { RELEASE_WORKFLOW_TYPE } from './workflow-definitions.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.js', import.meta.url));
/**
 * Bundled with the workflows whether or not the worker serves metrics, so every worker runs
 * the same workflow code; it only makes sink calls, never commands.
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [fileURLToPath(new URL('./metrics/release-outcome-interceptor.js', import.meta.url))];

export interface ReleaseWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
  /** Where release outcomes, stage durations and bytes hashed are recorded; none: not recorded. */
  readonly metrics?: WorkerMetrics;
  /** A prebuilt workflow bundle (tests build one and share it, with WORKFLOW_INTERCEPTOR_MODULES); otherwise bundled at start. */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Longest gap between heartbeats reaching the server (default 2 s). Checkpoints in heartbeat
   * details are only as fresh as the last one sent, so this bounds the work a crash loses;
   * the SDK's own default (up to 0.8 × heartbeatTimeout, 24 s for the hash stage) is too coarse.
   */
  readonly heartbeatThrottleMs?: number;
  /** Activities this worker runs at once (default `defaultMaxConcurrentActivities()`). */
  readonly maxConcurrentActivities?: number;
  /** Worker plugins, e.g. OpenTelemetry (src/tracing): interceptors and sinks only, no workflow commands. */
  readonly plugins?: WorkerPlugin[];
  /** Payload codec (src/codec), e.g. AES-GCM encryption; none: payloads as the converter writes them. */
  readonly payloadCodec?: PayloadCodec;
  /**
   * Join this Worker Deployment version (src/versioning): the server then routes each workflow
   * to the version it started on. None: an unversioned worker.
   */
  readonly deployment?: WorkerDeploymentVersion;
}

/** The worker end of the release-outcome sink; registered even without metrics so no call is "unregistered". */
export function releaseMetricsSinks(metrics: WorkerMetrics | undefined): InjectedSinks<ReleaseMetricsSinks> {
  return {
    releaseMetrics: {
      releaseFinished: {
        fn: (info, outcome, seconds) => {
          if (info.workflowType === RELEASE_WORKFLOW_TYPE) metrics?.releaseFinished(outcome, seconds);
        },
        // Replays (cache evictions, queries on closed releases) must not count a release again.
        callDuringReplay: false,
      },
    },
  };
}

/**
 * Activities a worker runs at once unless told otherwise: twice the cores, at least 4. The SDK's
 * default is 100, and the stages are CPU-bound (export's and smoke's onnxruntime children, the
 * sandbox, hashing): 200 releases queued on two 2-core workers ran up to 200 at once, starved the
 * workers' own event loops and the cluster, and 34 smoke attempts missed their 10 s heartbeat
 * timeout. Tasks left waiting stay in the task queue, where any other worker can take them.
 */
export function defaultMaxConcurrentActivities(cores = availableParallelism()): number {
  return Math.max(4, 2 * cores);
}

/** A worker hosting ReleaseWorkflow and its activities; used by src/worker.ts and the tests. */
export function createReleaseWorker(options: ReleaseWorkerOptions): Promise<Worker> {
  const { metrics } = options;
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(metrics ? { ...options.deps, metrics } : options.deps),
    interceptors: {
      workflowModules: WORKFLOW_INTERCEPTOR_MODULES,
      ...(metrics ? { activity: [activityMetricsInterceptor(metrics)] } : {}),
    },
    sinks: releaseMetricsSinks(metrics),
    maxHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 2_000,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? defaultMaxConcurrentActivities(),
    ...(options.plugins?.length ? { plugins: options.plugins } : {}),
    ...(options.payloadCodec ? { dataConverter: { payloadCodecs: [options.payloadCodec] } } : {}),
    ...(options.deployment
      ? {
          workerDeploymentOptions: {
            useWorkerVersioning: true,
            version: options.deployment,
            // Every workflow type is pinned: auto-upgrade would need patched() discipline again.
            // Set here, not per workflow (setWorkflowOptions): a cluster refuses a versioning
            // behavior from an unversioned worker ("versioning behavior cannot be specified
            // without deployment options"), which would stall every unversioned release.
            defaultVersioningBehavior: 'PINNED',
          },
        }
      : {}),
  });
}
