// A whole modelship installation as processes, the way users run it: a Temporal dev server,
// `modelship serve`, `modelship worker` (deploying to that runtime) and the `modelship` CLI.
// Used by the tracing (Jaeger) and Prometheus tests, which watch it from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyFiles } from '../../src/crypto/keys.js';
import { generateLoad, type LoadSummary } from '../../src/load/load-generator.js';
import type { CanaryPlan } from '../../src/canary/plan.js';
import { startDevServer, freePorts, type DevServer } from './dev-server.js';
import { CLI_BIN, processEnv, runCli, startCli, WORKER_MAIN, type CliRun } from './processes.js';
import { SAMPLE, SAMPLE_SIGNATURE } from './canary-fixture.js';

/** A process with its stderr (pino's JSON lines) kept for the test to read. */
export interface Watched {
  readonly child: ChildProcess;
  log(): string;
  /** Parsed JSON log lines (others skipped). */
  lines(): Array<Record<string, unknown>>;
}

function watch(child: ChildProcess): Watched {
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (log += d));
  return {
    child,
    log: () => log,
    lines: () =>
      log.split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

export interface ReleaseStack {
  readonly dir: string;
  readonly server: DevServer;
  readonly servingUrl: string;
  /** The worker's /metrics URL (`modelship worker --metrics-port`). */
  readonly workerMetricsUrl: string;
  readonly serving: Watched;
  readonly worker: Watched;
  readonly adminSecret: string;
  /** The encrypted signing key releases are signed with (as the worker sees it). */
  readonly keyPath: string;
  /** Environment of CLI processes (plus `extraEnv`). */
  readonly cliEnv: NodeJS.ProcessEnv;
  /** `modelship release <sample> --name <model> --version <v> --canary <plan> --json`, under load while it runs. */
  release(version: string, plan: CanaryPlan, options?: { load?: boolean }): Promise<{ run: CliRun; load?: LoadSummary }>;
  cli(args: readonly string[]): Promise<CliRun>;
  /** SIGTERM to the worker and the runtime (they flush what they buffer), then the server and the files. */
  stop(): Promise<void>;
}

export interface ReleaseStackOptions {
  readonly model: string;
  /** Added to every process's environment (e.g. OTEL_*). */
  readonly extraEnv?: NodeJS.ProcessEnv;
}

async function waitFor(what: string, ok: () => Promise<boolean>, child: ChildProcess, log: () => string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${log().slice(-2000)}`);
    if (await ok().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not come up in ${ms} ms: ${log().slice(-2000)}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function startReleaseStack(options: ReleaseStackOptions): Promise<ReleaseStack> {
  const extra = options.extraEnv ?? {};
  const server = await startDevServer();
  const dir = await mkdtemp(join(tmpdir(), 'modelship-stack-'));
  const passphrase = `stack ${randomBytes(4).toString('hex')}`;
  const adminSecret = randomBytes(24).toString('hex');
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'passphrase'), passphrase);
  await writeFile(join(dir, 'admin.key'), adminSecret);
  const key = await generateKeyFiles(join(dir, 'keys'), 'release', passphrase);
  const taskQueue = `stack-${randomBytes(4).toString('hex')}`;
  const [servingPort, metricsPort] = await freePorts(2);
  const servingUrl = `http://127.0.0.1:${servingPort}`;
  const workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const base = processEnv(dir, server, taskQueue, { MODELSHIP_LOG_LEVEL: 'info', ...extra });

  const serving = watch(
    spawn(process.execPath, [CLI_BIN, 'serve', '--host', '127.0.0.1', '--port', String(servingPort), '--state-dir', join(dir, 'serving'), '--trusted-keys-dir', join(dir, 'keys'), '--admin-key-file', join(dir, 'admin.key')], {
      env: base,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const worker = watch(
    spawn(process.execPath, [WORKER_MAIN], {
      env: { ...base, MODELSHIP_SERVING_URL: servingUrl, MODELSHIP_SERVING_ADMIN_KEY_FILE: join(dir, 'admin.key'), MODELSHIP_WORKER_METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const cliEnv: NodeJS.ProcessEnv = { ...base };
  try {
    await waitFor('modelship serve', () => fetch(`${servingUrl}/healthz`).then((r) => r.ok), serving.child, serving.log);
    await waitFor('modelship worker', async () => worker.log().includes('"worker started"') && (await fetch(workerMetricsUrl).then((r) => r.ok)), worker.child, worker.log);
  } catch (err) {
    worker.child.kill('SIGKILL');
    serving.child.kill('SIGKILL');
    await server.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    dir,
    server,
    servingUrl,
    workerMetricsUrl,
    serving,
    worker,
    adminSecret,
    keyPath: key.privateKeyPath,
    cliEnv,
    cli: (args) => runCli(args, cliEnv),
    async release(version, plan, { load = true } = {}) {
      const planFile = join(dir, `plan-${version}.json`);
      await writeFile(planFile, JSON.stringify(plan));
      const cli = startCli(['release', SAMPLE, '--name', options.model, '--version', version, '--key', key.privateKeyPath, '--canary', planFile, '--json'], cliEnv);
      if (!load) return { run: await cli.done };
      // Traffic for the canary analysis while the release runs (a first version just needs none).
      const stop = new AbortController();
      const traffic = generateLoad({ baseUrl: servingUrl, model: options.model, inputs: SAMPLE_SIGNATURE, ratePerSecond: 100, durationSeconds: 300, signal: stop.signal }).catch(() => undefined);
      const run = await cli.done;
      stop.abort();
      const summary = await traffic;
      return summary ? { run, load: summary } : { run };
    },
    async stop() {
      await Promise.all([stopProcess(worker.child), stopProcess(serving.child)]);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
