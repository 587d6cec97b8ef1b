// OpenTelemetry traces end to end: a real Jaeger (built from tools/jaeger) receives OTLP from the
// CLI, the worker and the serving runtime, all separate processes configured only by OTEL_*
// variables; one release with a canary is one trace, found through Jaeger's query API.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { defaultPayloadConverter } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../src/paths.js';
import { ACTIVITY_STAGE } from '../src/metrics/worker-metrics.js';
import { RELEASE_STAGES } from '../src/release/stages.js';
import { tracingConfigFromEnvironment } from '../src/tracing/otel-config.js';
import { startTracing } from '../src/tracing/start.js';
import { traceIdOfStart, traceIdOfTraceparent, TRACE_ID_MEMO_KEY, TRACER_HEADER, withTraceMetadata } from '../src/tracing/trace-metadata.js';
import { freePorts } from './helpers/dev-server.js';
import { startReleaseStack, type ReleaseStack } from './helpers/release-stack.js';
import { FAST_POLICY, SAMPLE } from './helpers/canary-fixture.js';
import { TracingConfigError } from '../src/errors/index.js';

const JAEGER = join(PROJECT_ROOT, '.modelship', 'tools', 'jaeger');
const JAEGER_CONFIG = join(PROJECT_ROOT, 'test', 'fixtures', 'jaeger-test.yaml');

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

describe('tracing pieces', () => {
  it('tracing is on only with an OTLP endpoint, and off with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    assert.equal(tracingConfigFromEnvironment({}), undefined);
    assert.deepEqual(tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), { protocol: 'http/protobuf', endpoint: 'http://127.0.0.1:4318' });
    assert.deepEqual(tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://h:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), { protocol: 'grpc', endpoint: 'http://h:4317' });
    assert.equal(tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
    assert.equal(tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined);
    assert.throws(() => tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), TracingConfigError);
    assert.throws(() => tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }), /not an http\(s\) URL/);
    assert.throws(() => tracingConfigFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://h:4318', OTEL_TRACES_EXPORTER: 'zipkin' }), /OTLP only/);
  });

  it('without an endpoint nothing starts: no SDK, the API stays a no-op', async () => {
    assert.equal(await startTracing('test', {}), undefined);
    const span = trace.getTracer('t').startSpan('x');
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, '00000000000000000000000000000000');
  });

  it('the trace id goes into the memo and static details, and is read back from a start event', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const options = withTraceMetadata<{ staticDetails: string; memo?: Record<string, unknown> }>({ staticDetails: '### Release a@1' }, traceId);
    assert.equal(options.memo?.[TRACE_ID_MEMO_KEY], traceId);
    assert.match(options.staticDetails, new RegExp(`trace \`${traceId}\``));
    assert.deepEqual(withTraceMetadata({ staticDetails: 'd' }, undefined), { staticDetails: 'd' });
    const decode = (p: Parameters<typeof defaultPayloadConverter.fromPayload>[0]) => defaultPayloadConverter.fromPayload(p);
    const memo = { fields: { [TRACE_ID_MEMO_KEY]: defaultPayloadConverter.toPayload(traceId) } };
    assert.equal(traceIdOfStart({ memo }, decode), traceId);
    // A batch's release has no memo of its own, only the propagated header.
    const header = { fields: { [TRACER_HEADER]: defaultPayloadConverter.toPayload({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` }) } };
    assert.equal(traceIdOfStart({ header }, decode), traceId);
    assert.equal(traceIdOfStart({}, decode), undefined);
    assert.equal(traceIdOfTraceparent('00-zz-00f067aa0ba902b7-01'), undefined);
  });
});

describe('tracing against an unreachable backend', () => {
  it('spans are recorded, and shutdown resolves with the problem instead of failing the command', async () => {
    const { startSdk } = await import('../src/tracing/tracing.js');
    // The exporter reads its endpoint from the environment, like in every modelship process.
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = 'http://127.0.0.1:9/v1/traces';
    const tracing = await startSdk({ protocol: 'http/protobuf', endpoint: 'http://127.0.0.1:9' }, 'unreachable-test');
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const span = trace.getTracer('t').startSpan('x');
    assert.equal(span.isRecording(), true);
    span.end();
    const problem = await tracing.shutdown();
    assert.match(problem ?? '', /could not export traces to http:\/\/127\.0\.0\.1:9/);
  });
});

const skip = existsSync(JAEGER) ? false : `Jaeger is not built (${JAEGER}): run scripts/setup.sh (tools/jaeger/build.sh needs Go)`;

describe('a release with a canary is one trace in Jaeger', { skip }, () => {
  const model = 'traced-sample';
  let jaeger: ChildProcess;
  let jaegerLog = '';
  let queryUrl = '';
  let stack: ReleaseStack;

  async function traces(service: string): Promise<JaegerTrace[]> {
    const res = await fetch(`${queryUrl}/api/traces?service=${encodeURIComponent(service)}&limit=100&lookback=1h`);
    assert.equal(res.status, 200, `Jaeger query for ${service}: ${res.status}`);
    return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
  }

  /** The service's traces once the one with `id` holds a span of each of `operations` (20 s at most). */
  async function traceWith(id: string, operations: readonly string[]): Promise<{ found: JaegerTrace; all: JaegerTrace[] }> {
    let all: JaegerTrace[] = [];
    for (let i = 0; i < 100; i++) {
      all = await traces('modelship-cli');
      const found = all.find((t) => t.traceID === id);
      if (found && operations.every((op) => found.spans.some((s) => s.operationName === op))) return { found, all };
      await sleep(200);
    }
    const seen = new Set(all.find((t) => t.traceID === id)?.spans.map((s) => s.operationName));
    return assert.fail(`trace ${id} never held ${operations.filter((op) => !seen.has(op)).join(', ')} (has: ${[...seen].join(', ') || 'nothing'}); Jaeger: ${jaegerLog.slice(-1000)}`);
  }

  before(async () => {
    const [otlpHttp, otlpGrpc, query, queryGrpc, health] = await freePorts(5);
    queryUrl = `http://127.0.0.1:${query}`;
    jaeger = spawn(JAEGER, ['--config', JAEGER_CONFIG], {
      env: {
        PATH: process.env.PATH,
        JAEGER_OTLP_HTTP_PORT: String(otlpHttp),
        JAEGER_OTLP_GRPC_PORT: String(otlpGrpc),
        JAEGER_QUERY_PORT: String(query),
        JAEGER_QUERY_GRPC_PORT: String(queryGrpc),
        JAEGER_HEALTH_PORT: String(health),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    jaeger.stdout!.setEncoding('utf8').on('data', (d: string) => (jaegerLog += d));
    jaeger.stderr!.setEncoding('utf8').on('data', (d: string) => (jaegerLog += d));
    for (let i = 0; ; i++) {
      if (await fetch(`http://127.0.0.1:${health}/status`).then((r) => r.ok, () => false)) break;
      if (jaeger.exitCode !== null || i > 300) assert.fail(`Jaeger did not start: ${jaegerLog.slice(-2000)}`);
      await sleep(100);
    }
    // Only the standard variables; a short batch delay so spans reach Jaeger quickly.
    stack = await startReleaseStack({
      model,
      extraEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpHttp}`, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    });
  });

  after(async () => {
    await stack?.stop();
    if (jaeger && jaeger.exitCode === null) {
      jaeger.kill('SIGTERM');
      await once(jaeger, 'exit');
    }
  });

  let traceId = '';

  it('the CLI releases v1 (first version, to stable) and v2 through a canary, each naming its trace', async () => {
    assert.match(stack.worker.log(), /exporting traces over OTLP/);
    assert.match(stack.serving.log(), /exporting traces over OTLP/);
    const plan = { steps: [{ setWeight: 50 }, { bakeSeconds: 2 }], policy: FAST_POLICY, maxExtensions: 10 };
    const v1 = await stack.release('1.0.0', plan, { load: false });
    assert.equal(v1.run.code, 0, v1.run.stderr);
    const v2 = await stack.release('2.0.0', plan);
    assert.equal(v2.run.code, 0, v2.run.stderr);
    const result = JSON.parse(v2.run.stdout) as { traceId?: string; canary?: { outcome?: string; firstVersion?: boolean } };
    assert.equal(result.canary?.outcome, 'promoted');
    assert.match(result.traceId ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(result.traceId, (JSON.parse(v1.run.stdout) as { traceId?: string }).traceId, 'each release is its own trace');
    traceId = result.traceId!;
  });

  it("through Jaeger's query API: one trace holds the CLI span, the workflow, every stage's activity and the runtime's canary deploy", async (t) => {
    assert.ok(traceId, 'needs the release above');
    // Each process exports on its own schedule: wait until the three have all arrived.
    const { found, all } = await traceWith(traceId, ['modelship release', 'RunWorkflow:ReleaseWorkflow', 'RunActivity:promoteCanary', 'deploy']);
    const matching = all.filter((t) => t.spans.some((s) => s.operationName === 'modelship release' && s.tags.some((tag) => tag.key === 'modelship.release_id' && String(tag.value).includes('2.0.0'))));
    assert.equal(matching.length, 1, 'the v2 release is one trace');
    assert.equal(matching[0]!.traceID, traceId);

    const service = (s: JaegerSpan) => found!.processes[s.processID]?.serviceName;
    const byId = new Map(found.spans.map((s) => [s.spanID, s]));
    const named = (op: string) => found!.spans.filter((s) => s.operationName === op);
    const root = named('modelship release');
    assert.equal(root.length, 1);
    assert.equal(service(root[0]!), 'modelship-cli');
    assert.equal(root[0]!.references.length, 0, 'the CLI span is the root');
    assert.equal(service(named('StartWorkflow:ReleaseWorkflow')[0]!), 'modelship-cli');
    assert.equal(service(named('RunWorkflow:ReleaseWorkflow')[0]!), 'modelship-worker');
    for (const stage of RELEASE_STAGES) {
      const activities = Object.entries(ACTIVITY_STAGE).filter(([, s]) => s === stage).map(([a]) => a);
      const ran = found.spans.filter((s) => activities.some((a) => s.operationName === `RunActivity:${a}`));
      assert.ok(ran.length > 0, `no activity span of the ${stage} stage (${activities.join(', ')})`);
      assert.ok(ran.every((s) => service(s) === 'modelship-worker'));
    }
    // The serving runtime's deploy of the canary, under the deployCanary activity that asked for it.
    const deploys = named('deploy').filter((s) => s.tags.some((t) => t.key === 'modelship.slot' && t.value === 'canary'));
    assert.equal(deploys.length, 1, 'one canary deploy span');
    assert.equal(service(deploys[0]!), 'modelship-serving');
    const ancestors: string[] = [];
    for (let s: JaegerSpan | undefined = deploys[0]; s; s = byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '')) ancestors.push(s.operationName);
    assert.ok(ancestors.includes('RunActivity:deployCanary'), `deploy's ancestors: ${ancestors.join(' < ')}`);
    // The serving runtime's SERVER span is named after the route table's pattern, never the model.
    assert.ok(ancestors.includes('PUT /admin/v1/models/{name}/slots/canary'), `deploy's ancestors: ${ancestors.join(' < ')}`);
    assert.equal(ancestors.at(-1), 'modelship release', `deploy's ancestors: ${ancestors.join(' < ')}`);
    assert.ok(found.spans.every((s) => s.traceID === traceId));
    const counts = new Map<string, number>();
    for (const s of found.spans) counts.set(service(s) ?? '?', (counts.get(service(s) ?? '?') ?? 0) + 1);
    t.diagnostic(`trace ${traceId}: ${found.spans.length} spans (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}); deploy path: ${ancestors.join(' < ')}`);
  });

  it('a batch is one trace too: its releases (child workflows) join the CLI span, and their status names it', async () => {
    const rollout = join(stack.dir, 'rollout.json');
    await writeFile(rollout, JSON.stringify({ version: 1, name: 'traced', signingKeyPath: stack.keyPath, waveSize: 1, defaults: { canary: false }, models: [{ name: 'traced-batch', version: '1.0.0', path: SAMPLE }] }));
    const run = await stack.cli(['batch', 'start', rollout, '--id', 'traced-1', '--wait', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const batchTrace = (JSON.parse(run.stdout) as { traceId?: string }).traceId;
    assert.match(batchTrace ?? '', /^[0-9a-f]{32}$/);
    const { found } = await traceWith(batchTrace!, ['modelship batch start', 'RunWorkflow:BatchRolloutWorkflow', 'RunWorkflow:ReleaseWorkflow']);
    const ops = new Set(found.spans.map((s) => s.operationName));
    for (const op of ['modelship batch start', 'StartWorkflow:BatchRolloutWorkflow', 'RunWorkflow:BatchRolloutWorkflow', 'StartChildWorkflow:ReleaseWorkflow', 'RunWorkflow:ReleaseWorkflow', 'RunActivity:hashBundle']) {
      assert.ok(ops.has(op), `the batch trace has no ${op} span: ${[...ops].join(', ')}`);
    }
    // The child release has no memo of its own: status reads the propagated header.
    const status = await stack.cli(['status', 'release-traced-batch-1.0.0', '--json']);
    assert.equal((JSON.parse(status.stdout) as { traceId?: string }).traceId, batchTrace);
  });

  it('status, report, the Web UI (memo, static details) and the logs name the same trace', async () => {
    const releaseId = `release-${model}-2.0.0`;
    const status = await stack.cli(['status', releaseId, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { traceId?: string }).traceId, traceId);
    const human = await stack.cli(['status', releaseId]);
    assert.match(human.stdout, new RegExp(`trace\\s+${traceId}`));
    const report = await stack.cli(['report', releaseId, '-o', join(stack.dir, 'report.html'), '--json']);
    assert.equal(report.code, 0, report.stderr);
    assert.equal((JSON.parse(report.stdout) as { report: { traceId?: string } }).report.traceId, traceId);
    // What the Web UI shows: the memo and the static details of the run.
    const connection = await Connection.connect({ address: stack.server.address });
    try {
      const description = await new Client({ connection, namespace: stack.server.namespace }).workflow.getHandle(releaseId).describe();
      assert.equal(description.memo?.[TRACE_ID_MEMO_KEY], traceId);
      assert.match((await description.staticDetails()) ?? '', new RegExp(`OpenTelemetry trace \`${traceId}\``));
    } finally {
      await connection.close();
    }
    const deployed = stack.serving.lines().filter((l) => l.msg === 'deployed' && l.slot === 'canary');
    assert.equal(deployed.length, 1);
    assert.equal(deployed[0]!.trace_id, traceId, 'the runtime logged the deploy with the release trace id');
    assert.match(String(deployed[0]!.span_id), /^[0-9a-f]{16}$/);
    assert.ok(stack.worker.lines().some((l) => l.trace_id === traceId), 'a worker log line carries the trace id');
  });
});
