import { context, isSpanContextValid, propagation, trace } from '@opentelemetry/api';

export interface TraceFields {
  readonly trace_id: string;
  readonly span_id: string;
}

/** The active span's ids (for log lines), or nothing outside a recorded span. */
export function activeTraceFields(): TraceFields | Record<string, never> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** Adds `traceparent` (and `tracestate`) of the active context to outgoing headers; a no-op without an SDK. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  propagation.inject(context.active(), headers);
  return headers;
}
