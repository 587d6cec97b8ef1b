import { TracingConfigError } from '../errors/index.js';


export type OtlpProtocol = 'http/protobuf' | 'grpc';

export interface TracingConfig {
  readonly protocol: OtlpProtocol;
  /** As configured: the exporters read the endpoint (and headers, timeout) from the environment themselves. */
  readonly endpoint: string;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'grpc'];

/**
 * Whether to trace, from the standard OpenTelemetry variables only. No OTLP endpoint, or
 * OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none: no tracing at all (no SDK, no
 * interceptors), so an untraced process pays nothing.
 */
export function tracingConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase();
  if (exporter === 'none') return undefined;
  if (exporter !== 'otlp') throw new TracingConfigError(`OTEL_TRACES_EXPORTER=${exporter} is not supported: modelship exports traces over OTLP only (set otlp or none)`);
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim() as OtlpProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new TracingConfigError(`OTLP protocol ${JSON.stringify(protocol)} is not supported: set OTEL_EXPORTER_OTLP_PROTOCOL to ${PROTOCOLS.join(' or ')}`);
  }
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TracingConfigError(`the OTLP endpoint ${JSON.stringify(endpoint)} is not an http(s) URL (e.g. http://localhost:4318 for http/protobuf, http://localhost:4317 for grpc)`);
  }
  return { protocol, endpoint };
}
