import { namesKeyByKid } from '../release/signing-key-name.js';
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { CanaryPlan } from '../canary/plan.js';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type ClientPlugin,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { assertSafeName, releaseIdFor } from '../release/ids.js';
import type { ModelSource, ReleaseRequest, ReleaseResult, SmokeOptions } from '../release/types.js';
import type { ReleaseStatus } from '../release/stages.js';
import { releaseStatusQuery, RELEASE_WORKFLOW_TYPE } from '../workflow-definitions.js';
import { releaseStartOptions } from '../release/start-metadata.js';
import { runUrl } from '../temporal-config.js';
import { connectClient } from './client.js';
import { resultThroughOutages } from './outage.js';
import type { PayloadCodec } from '@temporalio/common';
import { decodeEncryptedPayloads } from '../codec/history.js';
import { CliError, printJson, say, seconds, warn } from './output.js';
import { missingSearchAttribute } from '../search-attribute-check.js';
import { canaryProgressOf, hashProgressOf, progressView, silentProgress, type ProgressView } from './progress.js';
import { DEFAULT_SIGNING_KEY } from './defaults.js';
import { traceCommand } from '../tracing/cli-trace.js';
import { withTraceMetadata } from '../tracing/trace-metadata.js';
import { parseDimFlag, parseIntRangeFlag, parseShapeFlag, parseToleranceFlag, SpecSyntaxError, type IntRange, type ToleranceOption } from '../smoke/input-spec.js';

export interface ReleaseOptions {
  name: string;
  version: string;
  key?: string;
  exporter?: string;
  exporterTimeout?: string;
  follow: boolean;
  json?: boolean;
  smokeInputs?: string;
  smokeData?: string;
  smokeSeed?: string;
  smokePlugin?: string[];
  smokeTolerance?: string[];
  smokeShape?: string[];
  smokeDim?: string[];
  smokeIntRange?: string[];
  smokeTimeout?: string;
  smokeMaxMemoryMib?: string;
  allowUnsupported?: boolean;
  allowSymlinks?: boolean;
  /** A plan file, false for --no-canary, undefined for the default. */
  canary?: string | false;
}

async function canaryPlan(option: string | false | undefined): Promise<CanaryPlan | false | undefined> {
  if (option === undefined || option === false) return option;
  try {
    return JSON.parse(await readFile(resolve(option), 'utf8')) as CanaryPlan;
  } catch (err) {
    throw new CliError(`cannot read the canary plan ${option}: ${(err as Error).message}`, 2);
  }
}

function smokeOptions(options: ReleaseOptions): SmokeOptions | undefined {
  const smoke: { -readonly [K in keyof SmokeOptions]: SmokeOptions[K] } = {};
  if (options.smokeInputs && options.smokeData) throw new CliError('give --smoke-inputs or --smoke-data (inputs with their expected outputs), not both', 2);
  if (options.smokeInputs) smoke.inputsPath = resolve(options.smokeInputs);
  if (options.smokeData) smoke.dataPath = resolve(options.smokeData);
  if (options.smokeSeed) smoke.seed = positiveNumber(options.smokeSeed, '--smoke-seed');
  if (options.smokePlugin?.length) smoke.plugins = options.smokePlugin.map((p) => ({ path: resolve(p) }));
  try {
    Object.assign(smoke, smokeSpecFromFlags(options));
  } catch (err) {
    if (err instanceof SpecSyntaxError) throw new CliError(err.message, 2);
    throw err;
  }
  if (options.smokeTimeout) smoke.timeoutMs = positiveNumber(options.smokeTimeout, '--smoke-timeout') * 1000;
  if (options.smokeMaxMemoryMib) {
    const mib = positiveNumber(options.smokeMaxMemoryMib, '--smoke-max-memory-mib');
    if (!Number.isInteger(mib) || mib < 16 || mib > 4095) throw new CliError(`--smoke-max-memory-mib must be a whole number of MiB from 16 to 4095 (wasm32 addresses at most 4 GiB), got ${options.smokeMaxMemoryMib}`, 2);
    smoke.maxMemoryMiB = mib;
  }
  if (options.allowUnsupported) smoke.onUnsupported = 'warn';
  return Object.keys(smoke).length ? smoke : undefined;
}

/** The repeatable --smoke-shape, --smoke-dim, --smoke-int-range and --smoke-tolerance flags as request fields. */
function smokeSpecFromFlags(options: ReleaseOptions): Partial<SmokeOptions> {
  const out: { -readonly [K in keyof SmokeOptions]: SmokeOptions[K] } = {};
  const shapes: Record<string, number[]> = {};
  for (const flag of options.smokeShape ?? []) {
    const [name, dims] = parseShapeFlag(flag);
    shapes[name] = dims;
  }
  const dims: Record<string, number> = {};
  for (const flag of options.smokeDim ?? []) {
    const [name, size] = parseDimFlag(flag);
    dims[name] = size;
  }
  const intRanges: Record<string, IntRange> = {};
  for (const flag of options.smokeIntRange ?? []) {
    const { input, range } = parseIntRangeFlag(flag);
    if (input === undefined) out.intRange = range;
    else intRanges[input] = range;
  }
  const outputTolerances: Record<string, ToleranceOption> = {};
  for (const flag of options.smokeTolerance ?? []) {
    const { output, tolerance } = parseToleranceFlag(flag);
    if (output === undefined) out.tolerance = tolerance;
    else outputTolerances[output] = tolerance;
  }
  if (Object.keys(shapes).length) out.shapes = shapes;
  if (Object.keys(dims).length) out.dims = dims;
  if (Object.keys(intRanges).length) out.intRanges = intRanges;
  if (Object.keys(outputTolerances).length) out.outputTolerances = outputTolerances;
  return out;
}

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} needs a non-negative number, got ${JSON.stringify(text)}`, 2);
  return n;
}

export async function releaseCommand(model: string, options: ReleaseOptions): Promise<void> {
  try {
    assertSafeName('name', options.name);
    assertSafeName('version', options.version);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const source: ModelSource = options.exporter
    ? {
        kind: 'exporter',
        exporter: options.exporter,
        input: resolve(model),
        ...(options.exporterTimeout ? { timeoutSeconds: Number(options.exporterTimeout) } : {}),
      }
    : { kind: 'onnx', path: await sourcePath(model), ...(options.allowSymlinks ? { allowSymlinks: true } : {}) };
  const smoke = smokeOptions(options);
  const canary = await canaryPlan(options.canary);
  const request: ReleaseRequest = {
    name: options.name,
    version: options.version,
    source,
    signingKeyPath: keyArgument(options.key ?? DEFAULT_SIGNING_KEY),
    requestedBy: process.env.USER ?? 'unknown',
    ...(smoke ? { smoke } : {}),
    ...(canary !== undefined ? { canary } : {}),
  };

  const releaseId = releaseIdFor(request.name, request.version);
  // The CLI span is the root of the release's trace: start, and with --follow every stage to the end.
  await traceCommand('modelship release', { 'modelship.release_id': releaseId, 'modelship.follow': options.follow }, ({ plugins, traceId }) => runRelease(options, request, releaseId, plugins, traceId));
}

async function runRelease(options: ReleaseOptions, request: ReleaseRequest, releaseId: string, plugins: ClientPlugin[], traceId: string | undefined): Promise<void> {
  const { client, untraced, settings, codec, close } = await connectClient(plugins);
  try {
    const handle = await startRelease(client, settings.taskQueue, releaseId, request, traceId);
    const link = runUrl(settings, releaseId, handle.firstExecutionRunId);
    if (!options.json) {
      say(`release ${releaseId} started on task queue ${settings.taskQueue}`);
      say(`Web UI: ${link}`);
      if (traceId) say(`trace: ${traceId}`);
    }
    if (!options.follow) return options.json ? printJson({ releaseId, runId: handle.firstExecutionRunId, url: link, ...(traceId ? { traceId } : {}) }) : undefined;
    // Polled without spans: the trace holds the release's work, not one query span per half second.
    const result = await follow(untraced.workflow.getHandle(releaseId, handle.firstExecutionRunId), options.json ? silentProgress : progressView(), codec);
    if (options.json) return printJson({ ...result, url: link, ...(traceId ? { traceId } : {}) });
    say('');
    say(`released ${result.name}@${result.version}`);
    say(`  bundle       ${result.reference ?? result.bundleDir}`);
    say(`  root digest  sha256:${result.rootDigest}`);
    say(`  signed by    kid ${result.kid}`);
    if (result.smoke) say(`  smoke        ${result.smoke.result}, max abs diff ${result.smoke.maxAbsDiff.toExponential(2)} vs onnxruntime-node`);
    if (result.smoke?.sandboxFixup) say(`  smoke        the sandbox ran the model with fix-up ${result.smoke.sandboxFixup.id} (sha256:${result.smoke.sandboxFixup.sha256}, recorded in the Test Result)`);
    if (result.canary) say(`  serving      ${result.canary.model}: ${result.canary.firstVersion ? 'first version, deployed to stable' : 'canary promoted to stable at 100%'}`);
    say(`  Web UI       ${link}`);
    if (traceId) say(`  trace        ${traceId}`);
  } finally {
    await close();
  }
}

async function startRelease(client: Client, taskQueue: string, releaseId: string, request: ReleaseRequest, traceId: string | undefined) {
  try {
    // Summary, details and search attributes for the Web UI (and the trace id); a version is released once.
    return await client.workflow.start(RELEASE_WORKFLOW_TYPE, { taskQueue, ...withTraceMetadata(releaseStartOptions(request), traceId) });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `${request.name}@${request.version} already has a running or completed release (${releaseId}); ` +
          `see 'modelship status ${releaseId}', or release a new version`,
      );
    }
    throw missingSearchAttribute(err, client.options.namespace) ?? err;
  }
}

/** How long one poll waits for the release's status query before it describes the workflow again. */
const QUERY_WAIT_MS = 2_000;

/**
 * Prints each stage as it finishes (with progress of the hash and the canary in between), then
 * returns the result or throws the failure.
 */
async function follow(handle: WorkflowHandle, view: ProgressView, codec: PayloadCodec): Promise<ReleaseResult> {
  const printed = new Set<string>();
  let waitingNoted = false;
  let settled = false;
  // Through a restart of the Temporal server or its database: the release goes on meanwhile.
  const result = resultThroughOutages(() => handle.result(), {
    onOutage: (err) => {
      if (view !== silentProgress) warn(`  (lost the Temporal server: ${(err as Error).message}; reconnecting)`);
    },
    onReconnect: () => {
      if (view !== silentProgress) warn('  (reconnected to the Temporal server)');
    },
  }).finally(() => {
    settled = true;
  });
  result.catch(() => undefined);
  // The canary's end is printed after its last decisions (`update` prints both in that order).
  const show = (status: ReleaseStatus, holdCanaryEnd = false) => {
    for (const { name, state } of status.stages) {
      const key = `${name}:${state.status}`;
      if (printed.has(key) || state.status === 'pending') continue;
      if (holdCanaryEnd && name === 'canary' && state.status !== 'running') continue;
      printed.add(key);
      if (name === 'hash' && state.status !== 'running') view.hash(undefined);
      if (state.status === 'running') view.line(`  ...  ${name}`);
      else if (state.status === 'succeeded') {
        const figures = Object.entries(state.summary).map(([k, v]) => `${k}=${v}`).join('  ');
        view.line(`  ok   ${name.padEnd(7)} ${seconds(state.startedAt, state.finishedAt).padStart(6)}  ${figures}`);
      } else if (state.status === 'failed') view.line(`  FAIL ${name.padEnd(7)} ${state.error.type}: ${state.error.message}`);
      else view.line(`  skip ${name.padEnd(7)} ${state.reason}`);
    }
  };
  let decisionsShown = 0;
  const showCanary = (status: ReleaseStatus) => {
    const decisions = status.canary?.decisions ?? [];
    for (const d of decisions.slice(decisionsShown)) {
      view.line(`       canary ${String(d.weight).padStart(3)}%  ${d.kind}${d.verdict ? ` (${d.verdict})` : ''}: ${d.summary}`);
      if (status.canary?.phase === 'paused' && d === decisions.at(-1)) {
        view.line(`       waiting for an operator: modelship approve|promote|abort ${status.releaseId}`);
      }
    }
    decisionsShown = decisions.length;
    view.canary(canaryProgressOf(status));
  };
  const update = (status: ReleaseStatus) => {
    show(status, true);
    showCanary(status);
    show(status);
  };
  let hashed = false;
  // The query needs a worker; a stopped or starved one leaves it unanswered until it times out.
  // It is not awaited past QUERY_WAIT_MS, so the next polls still describe the workflow (the
  // server alone) and show the hash's progress meanwhile; one query is in flight at a time.
  let query: Promise<ReleaseStatus> | undefined;
  const poll = async () => {
    // Bytes hashed so far: the hash activity's heartbeat details, kept by the server. Asked
    // before the query, which needs the worker: a busy or stuck worker still shows progress.
    if (!hashed) {
      // describe() hands back heartbeat details as stored: encrypted when a codec key is set.
      // Decoded in place; a payload this CLI cannot decode just shows no progress.
      const description = await handle.describe();
      await decodeEncryptedPayloads(description.raw, codec).catch(() => undefined);
      view.hash(hashProgressOf(description));
    }
    const inFlight = (query ??= handle.query(releaseStatusQuery).finally(() => (query = undefined)));
    const status = await Promise.race([inFlight, sleep(QUERY_WAIT_MS, undefined, { ref: false })]);
    if (status === undefined) return;
    hashed = status.stages.some((s) => s.name === 'hash' && (s.state.status === 'succeeded' || s.state.status === 'failed' || s.state.status === 'skipped'));
    update(status);
  };
  try {
    while (!settled) {
      try {
        await poll();
      } catch {
        if (!waitingNoted && view !== silentProgress) warn('  (waiting for a modelship worker to pick up the release)');
        waitingNoted = true;
      }
      await Promise.race([result.catch(() => undefined), sleep(500)]);
    }
    // A query left in flight must settle before the caller closes the connection (its retries
    // would otherwise start calls on a closed channel).
    await query?.catch(() => undefined);
    try {
      update(await handle.query(releaseStatusQuery));
    } catch {
      // The worker may be gone already; the result below says how it ended.
    }
  } finally {
    view.end();
  }
  try {
    return (await result) as ReleaseResult;
  } catch (err) {
    throw new CliError(describeFailure(err));
  }
}

export function describeFailure(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return cause.message;
    return `release failed: ${cause?.message ?? err.message}`;
  }
  return `release failed: ${(err as Error).message}`;
}

/** `--key`: a path (made absolute here) or `kid:<kid>`, which each worker resolves in its MODELSHIP_SIGNING_KEYS_DIR. */
function keyArgument(key: string): string {
  return namesKeyByKid(key) ? key : resolve(key);
}

/** A model path made absolute, or an OCI ModelPack reference (no such path here) kept as it is, for the worker to pull. */
async function sourcePath(model: string): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { isArtifactSource } = await import('../store/model-source.js');
  if (!isArtifactSource(model) || existsSync(model)) return resolve(model);
  const { formatReference, parseReference } = await import('../oci/reference.js');
  try {
    return formatReference(parseReference(model));
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}
