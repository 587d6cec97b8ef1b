import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ProxyTracerProvider, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { tracer, TRACER_NAME } from '../../tracing/spans.js';

/** `/admin/v1/models/{name}/slots/canary`: the path with model names replaced, a low-cardinality span name. */
export function routeOf(url: string): string {
  const path = url.split('?')[0] ?? '/';
  const segments = path.split('/');
  const at = segments[1] === 'admin' ? 4 : 3;
  if (segments[at - 1] === 'models' && segments[at] !== undefined && segments[at] !== '') segments[at] = '{name}';
  return segments.join('/');
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
    const route = routeOf(req.url ?? '/');
    const span = tracer().startSpan(`${method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route, 'url.path': (req.url ?? '/').split('?')[0] ?? '/' } }, parent);
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
