/**
 * Release throughput on the real cluster against the dev server, in the same run: for 1, 2 and 4
 * worker processes (`node dist/src/worker.js`, configured by environment only, as users run
 * them), N small-model releases (the sample MLP; export → hash → sign → attest → smoke, no
 * canary, as `modelship release --no-canary`) started at once on a fresh task queue. Reports
 * releases per minute from the first start to the last completion, and workflow-task and
 * activity-task schedule-to-start p50/p99 from the workers' own /metrics (Temporal Core's
 * histograms, summed over the processes). bench/batch.ts measures one BatchRolloutWorkflow with
 * an in-process worker; this one measures independent releases against worker processes.
 *
 * The cluster is temporal/cluster/start.sh's (PostgreSQL, SQL visibility, mTLS, the `modelship`
 * namespace, search attributes registered by `modelship setup-namespace`); without the built
 * server the cluster half is skipped with a note. Every release must succeed, or the bench fails.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { generateKeyFiles } from '../src/crypto/keys.js';
import { releaseStartOptions } from '../src/release/start-metadata.js';
import type { ReleaseRequest } from '../src/release/types.js';
import { RELEASE_WORKFLOW_TYPE } from '../src/workflow-definitions.js';
import { SAMPLE_MODEL } from '../test/helpers/fixtures.js';
import { freePorts, startDevServer } from '../test/helpers/dev-server.js';
import { clusterSkipReason, startCluster } from '../test/helpers/cluster.js';
import { processEnv, runCli, spawnWorker } from '../test/helpers/processes.js';
import { scrape, type Scrape } from '../test/helpers/prometheus.js';
import { formatSeconds } from './format.js';
import { histogramQuantile, mergedBuckets, type Quantile } from './histogram.js';
import { BenchFailure, type BenchContext, type BenchOptions, type BenchResult, type BenchRow, type Benchmark } from './types.js';

export const DEFAULT_RELEASES = 200;
const WORKER_COUNTS = [1, 2, 4] as const;
/** Core's names (temporal_ prefix, milliseconds): the SDK dashboards' schedule-to-start panels. */
const WFT_S2S = 'temporal_workflow_task_schedule_to_start_latency';
const ACT_S2S = 'temporal_activity_schedule_to_start_latency';

type Backend = 'dev server' | 'cluster';

interface Measured {
  readonly backend: Backend;
  readonly workers: number;
  readonly releases: number;
  readonly wallSeconds: number;
  readonly wft: { p50?: Quantile; p99?: Quantile; count: number };
  readonly act: { p50?: Quantile; p99?: Quantile; count: number };
  /** The finite bucket bounds (ms) of the workflow-task histogram, for the note. */
  readonly bounds: readonly number[];
}

/** N: --releases, else MODELSHIP_BENCH_RELEASES, else 200. */
export function releaseCount(options: BenchOptions, env: NodeJS.ProcessEnv = process.env): number {
  if (options.releases !== undefined) return options.releases;
  const text = env.MODELSHIP_BENCH_RELEASES;
  if (text === undefined || text === '') return DEFAULT_RELEASES;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new BenchFailure(`MODELSHIP_BENCH_RELEASES must be an integer >= 1, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Worker process counts: MODELSHIP_BENCH_WORKERS ("1,2,4" by default). */
function workerCounts(env: NodeJS.ProcessEnv = process.env): number[] {
  const text = env.MODELSHIP_BENCH_WORKERS;
  if (!text) return [...WORKER_COUNTS];
  const counts = text.split(',').map((t) => Number(t.trim()));
  if (counts.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new BenchFailure(`MODELSHIP_BENCH_WORKERS must be a comma list of integers >= 1, got ${JSON.stringify(text)}`);
  return counts;
}

export const throughputBenchmark: Benchmark = {
  name: 'throughput',

  plan(options: BenchOptions): string[] {
    const n = releaseCount(options);
    const skip = clusterSkipReason();
    return [
      `throughput: ${n} small-model releases (--no-canary) per case, started back to back, with ${workerCounts().join(', ')} worker processes, on a dev server and on the real cluster (PostgreSQL, mTLS)${skip ? ' — cluster skipped: ' + skip : ''}`,
    ];
  },

  async run(ctx: BenchContext): Promise<BenchResult> {
    const n = releaseCount(ctx.options);
    const counts = workerCounts();
    const notes: string[] = [];
    const measured: Measured[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'modelship-bench-throughput-'));
    try {
      const passphrase = `bench passphrase ${randomBytes(6).toString('hex')}`;
      await writeFile(join(dir, 'passphrase'), `${passphrase}\n`);
      const key = await generateKeyFiles(join(dir, 'keys'), 'release', passphrase);

      ctx.progress('throughput: starting a dev server');
      const dev = await startDevServer();
      try {
        const server = { address: dev.address, namespace: dev.namespace };
        const connection = await Connection.connect({ address: dev.address });
        try {
          for (const k of counts) measured.push(await measure(ctx, 'dev server', { server, extraEnv: {}, connection, dir, signingKeyPath: key.privateKeyPath, workers: k, releases: n }));
        } finally {
          await connection.close();
        }
      } finally {
        await dev.stop();
      }

      const skip = clusterSkipReason();
      if (skip) {
        notes.push(`throughput: cluster half SKIPPED — ${skip}`);
      } else {
        ctx.progress('throughput: starting the cluster (PostgreSQL, mTLS)');
        const cluster = await startCluster();
        try {
          const server = { address: cluster.address, namespace: cluster.namespace };
          const setup = await runCli(['setup-namespace'], processEnv(dir, server, 'unused', cluster.env));
          if (setup.code !== 0) throw new BenchFailure(`throughput: modelship setup-namespace on the cluster exited ${setup.code}: ${setup.stderr}${setup.stdout}`);
          const connection = await Connection.connect(await clusterConnectionOptions(cluster.address, cluster.certs));
          try {
            for (const k of counts) measured.push(await measure(ctx, 'cluster', { server, extraEnv: cluster.env, connection, dir, signingKeyPath: key.privateKeyPath, workers: k, releases: n }));
          } finally {
            await connection.close();
          }
        } finally {
          await cluster.stop();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const rows: BenchRow[] = [];
    for (const k of counts) {
      const devRun = measured.find((m) => m.backend === 'dev server' && m.workers === k);
      const clusterRun = measured.find((m) => m.backend === 'cluster' && m.workers === k);
      for (const m of [devRun, clusterRun]) if (m) rows.push(...rowsOf(m, m === clusterRun ? devRun : undefined));
    }
    notes.push(
      `throughput: releases/min = N ÷ (last completion − first start) × 60, wall clock of the bench process; all N started back to back (20 start calls in flight) on a fresh task queue once all k workers poll it; the workers, the server (and PostgreSQL), and the bench share ${availableParallelism()} cores`,
      `throughput: schedule-to-start from the workers' /metrics (${WFT_S2S} and ${ACT_S2S}, Temporal Core, ms; sticky and normal workflow tasks alike), buckets summed over the k processes; p50/p99 interpolated as PromQL histogram_quantile(): linearly inside the bucket holding the rank, from the previous bound (0 for the first); ">X" means the rank fell above Core's highest bound X; bucket bounds ${measured[0]?.bounds.join(", ") ?? "?"} ms (the worker sets them finer than Core's default, src/metrics/core-telemetry.ts), so a figure is only as exact as the bucket it falls in`,
      'throughput: with N releases queued at once, schedule-to-start is mostly backlog (a worker polls only when it has a free slot), not the server\'s dispatch latency; the p50 of a lightly loaded case is closer to the latter',
      'throughput: one run per case (--runs does not apply): each case is N releases on fresh worker processes and a fresh task queue; the dev server cases run first, then the cluster\'s',
      'throughput: "vs base" on a cluster row is cluster ÷ dev server for the same worker count: releases/min for the throughput row (below 1 = the cluster is slower), p50 for the schedule-to-start rows (above 1 = the cluster queues longer)',
    );
    return { rows, notes };
  },
};

async function clusterConnectionOptions(address: string, certs: { cert: string; key: string; ca: string }): Promise<ConnectionOptions> {
  return {
    address,
    tls: { serverNameOverride: 'localhost', serverRootCACertificate: await readFile(certs.ca), clientCertPair: { crt: await readFile(certs.cert), key: await readFile(certs.key) } },
  };
}

interface CaseInput {
  readonly server: { address: string; namespace: string };
  readonly extraEnv: NodeJS.ProcessEnv;
  readonly connection: Connection;
  readonly dir: string;
  readonly signingKeyPath: string;
  readonly workers: number;
  readonly releases: number;
}

async function measure(ctx: BenchContext, backend: Backend, c: CaseInput): Promise<Measured> {
  const tag = randomBytes(3).toString('hex');
  const taskQueue = `bench-throughput-${tag}-${c.workers}w`;
  const client = new Client({ connection: c.connection, namespace: c.server.namespace });
  const ports = await freePorts(c.workers);
  ctx.progress(`throughput: ${backend}, ${c.workers} worker process(es): starting them`);
  const children: ChildProcess[] = ports.map((port) =>
    spawnWorker(processEnv(c.dir, c.server, taskQueue, { ...c.extraEnv, MODELSHIP_WORKER_METRICS_PORT: String(port) })),
  );
  try {
    await waitForPollers(client, c.server.namespace, taskQueue, children);
    ctx.progress(`throughput: ${backend}, ${c.workers} worker process(es): ${c.releases} releases`);
    const requests: ReleaseRequest[] = Array.from({ length: c.releases }, (_, i) => ({
      name: `tp-${tag}-${String(i).padStart(4, '0')}`,
      version: '1.0.0',
      source: { kind: 'onnx' as const, path: SAMPLE_MODEL },
      signingKeyPath: c.signingKeyPath,
      requestedBy: 'bench',
      canary: false as const,
    }));
    const started = process.hrtime.bigint();
    let lastDone = started;
    const failures: string[] = [];
    const results: Promise<void>[] = [];
    // Starts go out 20 at a time (a start is one RPC); each result is awaited as soon as it started.
    for (let i = 0; i < requests.length; i += 20) {
      const handles = await Promise.all(requests.slice(i, i + 20).map((r) => client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, ...releaseStartOptions(r) })));
      for (const h of handles) {
        results.push(
          h.result().then(
            () => {
              lastDone = process.hrtime.bigint();
            },
            (err: unknown) => {
              failures.push(`${h.workflowId}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
            },
          ),
        );
      }
    }
    await Promise.all(results);
    if (failures.length) throw new BenchFailure(`throughput: ${backend}, ${c.workers} workers: ${failures.length} of ${c.releases} releases failed, e.g. ${failures[0]}`);
    const wallSeconds = Number(lastDone - started) / 1e9;
    ctx.progress(`throughput: ${backend}, ${c.workers} worker process(es): ${c.releases} releases in ${formatSeconds(wallSeconds)} (${((c.releases / wallSeconds) * 60).toFixed(1)}/min)`);

    const scrapes: Scrape[] = await Promise.all(ports.map((p) => scrape(`http://127.0.0.1:${p}/metrics`)));
    const quantiles = (name: string) => {
      const buckets = mergedBuckets(scrapes, name);
      if (!buckets.size) throw new BenchFailure(`throughput: no ${name} histogram in the workers' /metrics`);
      return { p50: histogramQuantile(0.5, buckets), p99: histogramQuantile(0.99, buckets), count: buckets.get(Infinity) ?? 0 };
    };
    const bounds = [...mergedBuckets(scrapes, WFT_S2S).keys()].filter((b) => b !== Infinity);
    return { backend, workers: c.workers, releases: c.releases, wallSeconds, wft: quantiles(WFT_S2S), act: quantiles(ACT_S2S), bounds };
  } finally {
    await Promise.all(children.map((child) => stopWorker(child)));
  }
}

/** Until every worker process polls both the workflow and the activity task queue (or one exits). */
async function waitForPollers(client: Client, namespace: string, taskQueue: string, children: readonly ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  const pollers = async (type: temporal.api.enums.v1.TaskQueueType) =>
    new Set(((await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: type })).pollers ?? []).map((p) => p.identity)).size;
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) throw new BenchFailure(`throughput: a worker process exited (${dead.exitCode ?? dead.signalCode}) before polling; MODELSHIP_TEST_WORKER_OUTPUT=1 shows its output`);
    const wf = await pollers(1); // TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is CommonJS: no named enum import)
    const act = await pollers(2); // TASK_QUEUE_TYPE_ACTIVITY
    if (wf >= children.length && act >= children.length) return;
    if (Date.now() > deadline) throw new BenchFailure(`throughput: after 120 s, ${wf} workflow and ${act} activity pollers of ${children.length} worker processes on ${taskQueue}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function ms(q: Quantile | undefined): string {
  if (!q) return 'n/a';
  const v = q.value >= 100 ? q.value.toFixed(0) : q.value.toFixed(1);
  return `${q.aboveHighestBound ? '>' : ''}${v} ms`;
}

function rowsOf(m: Measured, base: Measured | undefined): BenchRow[] {
  const perMin = (m.releases / m.wallSeconds) * 60;
  const subject = `${m.backend}, ${m.workers} worker process${m.workers > 1 ? 'es' : ''}`;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : undefined);
  const s2s = (label: string, h: Measured['wft'], baseH: Measured['wft'] | undefined): BenchRow => {
    const r = base ? ratio(h.p50?.value, baseH?.p50?.value) : undefined;
    return {
      bench: 'throughput',
      subject: `${subject}: ${label} schedule-to-start`,
      input: `${h.count} tasks`,
      runs: 1,
      ...(r ? { ratio: r } : {}),
      check: `p50 ${ms(h.p50)}, p99 ${ms(h.p99)}`,
    };
  };
  const r = base ? ratio(perMin, (base.releases / base.wallSeconds) * 60) : undefined;
  return [
    {
      bench: 'throughput',
      subject,
      input: `${m.releases} releases, --no-canary`,
      runs: 1,
      medianSeconds: m.wallSeconds,
      throughput: { perSecond: m.releases / m.wallSeconds, unit: 'releases' },
      ...(r ? { ratio: r } : {}),
      check: `${perMin.toFixed(1)} releases/min`,
    },
    s2s('workflow-task', m.wft, base?.wft),
    s2s('activity-task', m.act, base?.act),
  ];
}
