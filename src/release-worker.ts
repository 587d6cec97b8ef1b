import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.js', import.meta.url));

export interface ReleaseWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
  /** A prebuilt workflow bundle (tests build one and share it); otherwise bundled at start. */
  readonly workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Longest gap between heartbeats reaching the server (default 2 s). Checkpoints in heartbeat
   * details are only as fresh as the last one sent, so this bounds the work a crash loses;
   * the SDK's own default (up to 0.8 × heartbeatTimeout, 24 s for the hash stage) is too coarse.
   */
  readonly heartbeatThrottleMs?: number;
}

/** A worker hosting ReleaseWorkflow and its activities; used by src/worker.ts and the tests. */
export function createReleaseWorker(options: ReleaseWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    maxHeartbeatThrottleInterval: options.heartbeatThrottleMs ?? 2_000,
  });
}
