import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';

/** Instrumentation scope of modelship's own spans (CLI commands, serving runtime). */
export const TRACER_NAME = 'modelship';

/** modelship's tracer: a no-op one while no SDK is started. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Runs `fn` inside an active span that ends with it, recording a thrown error on the span. */
export async function inSpan<T>(name: string, attributes: Record<string, string | number | boolean>, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
