import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { tracer, TRACER_NAME } from '../../tracing/spans.js';

/** Each traced request's SERVER span, until the router names it after the route it matched. */
const serverSpans = new WeakMap<IncomingMessage, Span>();

/**
 * Names the request's SERVER span after the route table's pattern (`PUT
 * /admin/v1/models/{name}/slots/canary`): low-cardinality, and true to the table by construction.
 * A request no route matched keeps the method alone, as OpenTelemetry's HTTP conventions ask.
 */
export function recordRoute(req: IncomingMessage, pattern: string): void {
  const span = serverSpans.get(req);
  if (!span) return;
  span.updateName(`${req.method ?? 'GET'} ${pattern}`);
  span.setAttribute('http.route', pattern);
}

/**
 * Wraps the runtime's request handler in a SERVER span whose parent is the caller's W3C
 * `traceparent`, so a deploy made by a release's activity (or an inference request from a
 * traced client) joins that trace. Without an SDK (no tracer provider registered, checked per
 * request, so one registered later is picked up) the request goes straight to the handler: the
 * no-op tracer still cost a tracer, a span, a context and a close listener per request.
 */
export function tracedRequestHandler(handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!tracingRegistered()) {
      handler(req, res);
      return;
    }
    const parent = propagation.extract(context.active(), req.headers);
    const method = req.method ?? 'GET';
    const span = tracer().startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': (req.url ?? '/').split('?')[0] ?? '/' } }, parent);
    serverSpans.set(req, span);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(req, res));
  };
}

/** Whether an SDK has registered a tracer provider (the API's global proxy then has a delegate). */
function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(TRACER_NAME) !== undefined;
}
