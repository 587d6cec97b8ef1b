import { TraceFlags } from '@opentelemetry/api';
import type { ClientPlugin } from '@temporalio/client';
import { inSpan } from './spans.js';
import { startTracing } from './start.js';

export interface CliTrace {
  /** For the Temporal Client: its StartWorkflow/update spans and the header carrying the context. */
  readonly plugins: ClientPlugin[];
  /** The trace this command records into; absent when untraced or not sampled. */
  readonly traceId?: string;
}

/**
 * Runs a CLI command as the root span of a trace (`modelship release`, `modelship batch start`),
 * exporting everything before it returns. Without OTEL_* configuration it just runs `fn`.
 */
export async function traceCommand<T>(name: string, attributes: Record<string, string | number | boolean>, fn: (trace: CliTrace) => Promise<T>): Promise<T> {
  const tracing = await startTracing('modelship-cli');
  if (!tracing) return fn({ plugins: [] });
  try {
    return await inSpan(name, attributes, (span) => {
      const sc = span.spanContext();
      const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
      return fn({ plugins: [tracing.temporalPlugin()], ...(sampled ? { traceId: sc.traceId } : {}) });
    });
  } finally {
    const problem = await tracing.shutdown();
    if (problem) process.stderr.write(`modelship: warning: ${problem}\n`);
  }
}
