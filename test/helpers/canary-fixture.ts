// A release environment with a real serving runtime that trusts the release key, and traffic from
// the load generator on demand: what a canary release needs. Short bakes and a small minimum
// sample (FAST_POLICY) keep the canary quick.
import { pino } from 'pino';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { startServingRuntime, type ServingRuntime } from '../../src/serving/serve.js';
import { generateLoad } from '../../src/load/load-generator.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { releaseStatusQuery } from '../../src/workflow-definitions.js';
import type { CanaryPlan } from '../../src/canary/plan.js';
import { startReleaseEnv, type ReleaseEnv } from './release-env.js';
import type { DevServer } from './dev-server.js';
import type { WorkerMetrics } from '../../src/metrics/worker-metrics.js';

export const SAMPLE = join(PROJECT_ROOT, 'models', 'sample', 'sample-mlp.onnx');
export const SAMPLE_SIGNATURE = [{ name: 'features', type: 'float32', shape: ['batch', 4] }] as const;
export const FAST_POLICY = { minSamplesPerSlot: 30, minShadowComparisons: 20 };

export interface CanaryFixture {
  readonly env: ReleaseEnv;
  readonly serving: ServingRuntime;
  readonly secret: string;
  /** The served model name every release of this fixture uses. */
  readonly model: string;
  readonly dir: string;
  /** Starts a release of `path` (default: the sample model) as `model`, with this canary plan. */
  release(canary: CanaryPlan, path?: string, version?: string): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** Traffic on `model` while `work` runs, so every bake has data. */
  underLoad<T>(work: Promise<T>): Promise<T>;
  waitForPhase(handle: WorkflowHandle, phase: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startCanaryFixture(options: { server?: DevServer; model?: string; metrics?: WorkerMetrics } = {}): Promise<CanaryFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-canary-fixture-'));
  await mkdir(join(dir, 'trusted'));
  const secret = randomBytes(24).toString('hex');
  const model = options.model ?? `canary-${randomBytes(3).toString('hex')}`;
  const serving = await startServingRuntime({ host: '127.0.0.1', port: 0, stateDir: join(dir, 'serving'), trustedKeysDir: join(dir, 'trusted'), adminSecret: secret, logger: pino({ level: 'silent' }) });
  const env = await startReleaseEnv({ serving: { url: serving.url, secret }, ...(options.server ? { server: options.server } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) });
  // The serving runtime trusts the release key (it re-reads the folder on every deploy).
  await copyFile(env.key.publicKeyPath, join(dir, 'trusted', basename(env.key.publicKeyPath)));
  return {
    env,
    serving,
    secret,
    model,
    dir,
    release: (canary, path = SAMPLE, version) =>
      env.start(env.request({ name: model, ...(version ? { version } : {}), source: { kind: 'onnx', path }, canary: { model, policy: FAST_POLICY, ...canary } })),
    async underLoad<T>(work: Promise<T>): Promise<T> {
      const stop = new AbortController();
      const load = generateLoad({ baseUrl: serving.url, model, inputs: SAMPLE_SIGNATURE, ratePerSecond: 150, durationSeconds: 120, signal: stop.signal, keys: 500 });
      try {
        return await work;
      } finally {
        stop.abort();
        await load;
      }
    },
    async waitForPhase(handle, phase) {
      for (let i = 0; i < 300; i++) {
        const status = await handle.query(releaseStatusQuery).catch(() => undefined);
        if (status?.canary?.phase === phase) return;
        await sleep(100);
      }
      throw new Error(`the canary of ${handle.workflowId} never reached ${phase}`);
    },
    async stop() {
      await env.stop();
      await serving.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
