import type { Context } from '@opentelemetry/api';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type Span as SdkSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import type { TracingConfig } from './otel-config.js';

/** A started OpenTelemetry SDK: the global tracer provider, W3C propagation, OTLP export. */
export interface Tracing {
  readonly config: TracingConfig;
  readonly resource: Resource;
  readonly spanProcessor: SpanProcessor;
  /** The Temporal plugin for Client and Worker: client, workflow, update and activity spans. */
  temporalPlugin(): OpenTelemetryPlugin;
  /**
   * Exports what is buffered and stops; spans ended after this are dropped. Never rejects: a
   * backend that cannot be reached must not fail a release; the problem is returned to log.
   */
  shutdown(): Promise<string | undefined>;
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

/**
 * Starts the SDK with `config` (from tracingConfigFromEnvironment; see start.ts, which loads this
 * module only then). The service name is OTEL_SERVICE_NAME, else `defaultServiceName`; the
 * sampler OTEL_TRACES_SAMPLER(_ARG) (parent-based always-on by default).
 */
export async function startSdk(config: TracingConfig, defaultServiceName: string): Promise<Tracing> {
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': defaultServiceName }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const spanProcessor = new UntracedQueryFilter(new BatchSpanProcessor(await otlpExporter(config)));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Global context manager (AsyncLocalStorage), W3C trace-context + baggage propagators, tracer provider.
  provider.register();
  return {
    config,
    resource,
    spanProcessor,
    temporalPlugin: () => new OpenTelemetryPlugin({ resource, spanProcessor }),
    shutdown: () =>
      provider.shutdown().then(
        () => undefined,
        (err: unknown) => `could not export traces to ${config.endpoint} (${config.protocol}): ${err instanceof Error ? err.message : String(err)}`,
      ),
  };
}
