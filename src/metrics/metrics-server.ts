import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpServer } from '../serving/http/server.js';
import { errorMessage } from '../errors/index.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from './worker-metrics.js';

export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** A scrape must not hang on Core; Prometheus' own default timeout is 10 s. */
const CORE_READ_TIMEOUT_MS = 3_000;

export interface MetricsServerOptions {
  readonly metrics: WorkerMetrics;
  readonly host?: string;
  /** 0 picks a free port; the bound URL is returned. */
  readonly port: number;
  /** Temporal Core's Prometheus endpoint on loopback, appended to every scrape. */
  readonly coreMetricsUrl?: string;
  readonly logger: Logger;
}

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464; scrape `${url}/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * One port for both: modelship's registry (prom-client) and Temporal Core's exporter, which
 * lives in Rust and cannot take foreign metrics, so its text is read over loopback and
 * appended (the families do not clash: modelship_, process_/nodejs_ against temporal_).
 * When Core cannot be read the scrape still answers, with modelship_core_metrics_up 0.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, logger, coreMetricsUrl } = options;
  let coreWasUp: boolean | undefined;

  async function readCore(): Promise<string> {
    if (!coreMetricsUrl) return '';
    try {
      const response = await fetch(coreMetricsUrl, { signal: AbortSignal.timeout(CORE_READ_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (coreWasUp === false) logger.info({ coreMetricsUrl }, 'Temporal Core metrics readable again');
      coreWasUp = true;
      return text;
    } catch (err) {
      // Logged when it changes, not on every scrape.
      if (coreWasUp !== false) logger.warn({ coreMetricsUrl, err: errorMessage(err) }, 'cannot read Temporal Core metrics; serving modelship metrics only');
      coreWasUp = false;
      return '';
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const core = await readCore();
    if (coreMetricsUrl) metrics.coreMetricsRead(coreWasUp === true);
    const own = await metrics.render();
    const body = core ? `${own.endsWith('\n') ? own : `${own}\n`}${core.endsWith('\n') ? core : `${core}\n`}` : own;
    res.writeHead(200, { 'content-type': metrics.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const server = new HttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: errorMessage(err) }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics unavailable\n');
    });
  });
  const url = await server.listen(options.host ?? DEFAULT_METRICS_HOST, options.port);
  return { url, close: () => server.close(1_000) };
}
