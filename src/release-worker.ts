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
}

/** A worker hosting ReleaseWorkflow and its activities; used by src/worker.ts and the tests. */
export function createReleaseWorker(options: ReleaseWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
  });
}
