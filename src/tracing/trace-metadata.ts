/**
 * Where a release names its trace. The CLI, starting a traced release or batch, puts the trace
 * id in the workflow's memo (`traceId`, shown on the Web UI's run page) and a line of its static
 * details; `status` and `report` read it back from the start event of the history. Workflows
 * started by a traced workflow (a batch's releases) carry no memo of their own but the
 * interceptor's `_tracer-data` header, whose traceparent names the same trace.
 * Pure: no SDK needed to read or write it.
 */
import type { Payload } from '@temporalio/common';

export const TRACE_ID_MEMO_KEY = 'traceId';
/** The header @temporalio/interceptors-opentelemetry propagates context in. */
export const TRACER_HEADER = '_tracer-data';

const TRACE_ID = /^[0-9a-f]{32}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

interface StartMetadata {
  readonly staticDetails: string;
  readonly memo?: Record<string, unknown>;
}

/** The start options with the trace id in the memo and the static details; unchanged without one. */
export function withTraceMetadata<T extends StartMetadata>(options: T, traceId: string | undefined, maxDetailsBytes = 20_000): T {
  if (!traceId) return options;
  const line = `\n#### Trace\n\nOpenTelemetry trace \`${traceId}\` (look it up in your tracing backend, e.g. Jaeger's /trace/${traceId}).\n`;
  const details = Buffer.byteLength(options.staticDetails + line) <= maxDetailsBytes ? options.staticDetails + line : options.staticDetails;
  return { ...options, staticDetails: details, memo: { ...options.memo, [TRACE_ID_MEMO_KEY]: traceId } };
}

/** The trace id from a traceparent (`00-<trace>-<span>-<flags>`), if it is one. */
export function traceIdOfTraceparent(traceparent: unknown): string | undefined {
  if (typeof traceparent !== 'string') return undefined;
  return TRACEPARENT.exec(traceparent.trim())?.[1];
}

/**
 * The trace id of a workflow from its start event: the memo's `traceId`, else the traceparent
 * in the interceptor's header. `decode` turns a payload into its value (the default converter).
 */
export function traceIdOfStart(
  start: { memo?: { fields?: Record<string, Payload> | null } | null; header?: { fields?: Record<string, Payload> | null } | null },
  decode: (payload: Payload) => unknown,
): string | undefined {
  const safe = (payload: Payload | undefined): unknown => {
    if (!payload) return undefined;
    try {
      return decode(payload);
    } catch {
      return undefined;
    }
  };
  const memo = safe(start.memo?.fields?.[TRACE_ID_MEMO_KEY] ?? undefined);
  if (typeof memo === 'string' && TRACE_ID.test(memo)) return memo;
  const carrier = safe(start.header?.fields?.[TRACER_HEADER] ?? undefined) as { traceparent?: unknown } | undefined;
  return traceIdOfTraceparent(carrier?.traceparent);
}
