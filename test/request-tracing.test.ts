// The serving runtime's SERVER spans are named after the route table's patterns: a real HTTP
// server, the real route tables, and an in-memory span exporter as the SDK.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { HttpServer } from '../src/serving/http/server.js';
import { createRequestHandler } from '../src/serving/http/request-handler.js';
import { tracedRequestHandler } from '../src/serving/http/request-tracing.js';
import { opsMount } from '../src/serving/protocol/ops/mount.js';
import { v1Mount } from '../src/serving/protocol/v1/mount.js';
import type { ProtocolDeps } from '../src/serving/protocol/deps.js';

describe('serving span names', () => {
  const exporter = new InMemorySpanExporter();
  let server: HttpServer;
  let url = '';

  before(async () => {
    const provider = new BasicTracerProvider();
    provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
    trace.setGlobalTracerProvider(provider);
    // Only what these routes read: no model is loaded, so v1 answers 404 after matching its route.
    const deps = { catalog: { get: () => undefined }, limits: { maxInferBodyBytes: 1024 }, metrics: {} } as unknown as ProtocolDeps;
    server = new HttpServer(tracedRequestHandler(createRequestHandler([opsMount(deps), v1Mount(deps)], pino({ level: 'silent' }))));
    url = await server.listen('127.0.0.1', 0);
  });
  after(() => server.close());

  async function spanNameOf(method: string, path: string): Promise<{ name: string; route: unknown; status: number }> {
    exporter.reset();
    const res = await fetch(`${url}${path}`, { method, body: method === 'POST' ? '{}' : undefined });
    await res.arrayBuffer();
    // The span ends on the response's 'close', which can follow the client's read.
    for (let i = 0; i < 100 && exporter.getFinishedSpans().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 1, `${method} ${path}: ${spans.length} spans`);
    return { name: spans[0]!.name, route: spans[0]!.attributes['http.route'], status: res.status };
  }

  it('a matched route names the span by its pattern, never by the model in the URL', async () => {
    const got = await spanNameOf('POST', '/v1/models/iris-secret-name/infer?x=1');
    assert.equal(got.status, 404);
    assert.deepEqual(got, { name: 'POST /v1/models/{name}/infer', route: '/v1/models/{name}/infer', status: 404 });
    assert.deepEqual(await spanNameOf('GET', '/healthz'), { name: 'GET /healthz', route: '/healthz', status: 200 });
  });

  it('an unmatched path keeps the method alone, with no route', async () => {
    assert.deepEqual(await spanNameOf('GET', '/v1/models/iris/unknown'), { name: 'GET', route: undefined, status: 404 });
    assert.deepEqual(await spanNameOf('GET', '/nothing/here'), { name: 'GET', route: undefined, status: 404 });
  });
});
