import { SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type Span as SdkSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { tracingConfigFromEnvironment, type TracingConfig } from './otel-config.js';

/** Instrumentation scope of modelship's own spans (CLI commands, serving runtime). */
export const TRACER_NAME = 'modelship';

/** A started OpenTelemetry SDK: the global tracer provider, W3C propagation, OTLP export. */
export interface Tracing {
  readonly config: TracingConfig;
  readonly resource: Resource;
  readonly spanProcessor: SpanProcessor;
  /** The Temporal plugin for Client and Worker: client, workflow, update and activity spans. */
  temporalPlugin(): OpenTelemetryPlugin;
  /** Exports what is buffered and stops; spans ended after this are dropped. */
  shutdown(): Promise<void>;
}

/**
 * Drops the root spans of queries (`HandleQuery:*` without a parent): polls from untraced callers
 * (a CLI follow loop, the Web UI) would otherwise be one tiny trace each, several a second.
 * Queries from a traced caller still show under its span.
 */
class UntracedQueryFilter implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor) {}
  onStart(span: SdkSpan, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    if (span.name.startsWith('HandleQuery:') && !span.parentSpanId) return;
    this.inner.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

async function otlpExporter(config: TracingConfig): Promise<SpanExporter> {
  // Both read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT themselves; loaded only when used.
  if (config.protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

let started: Tracing | undefined;

/**
 * Starts tracing for this process when the OTEL_* variables ask for it (see
 * tracingConfigFromEnvironment), else returns undefined and loads nothing more. The service
 * name is OTEL_SERVICE_NAME, else `defaultServiceName`; the sampler OTEL_TRACES_SAMPLER(_ARG)
 * (parent-based always-on by default). Once per process.
 */
export async function startTracing(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (started) return started;
  const config = tracingConfigFromEnvironment(env);
  if (!config) return undefined;
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': defaultServiceName }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const spanProcessor = new UntracedQueryFilter(new BatchSpanProcessor(await otlpExporter(config)));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Global context manager (AsyncLocalStorage), W3C trace-context + baggage propagators, tracer provider.
  provider.register();
  const tracing: Tracing = {
    config,
    resource,
    spanProcessor,
    temporalPlugin: () => new OpenTelemetryPlugin({ resource, spanProcessor }),
    shutdown: () => provider.shutdown(),
  };
  started = tracing;
  return tracing;
}

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
