import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How long `close` waits for running requests before cutting connections. */
export const DEFAULT_CLOSE_GRACE_MS = 10_000;

/**
 * A node:http server that knows its running requests, so closing it stops accepting,
 * lets them finish (up to a grace period), and only then cuts what is left.
 */
export class HttpServer {
  private readonly server: Server;
  private running = 0;
  private idle: (() => void) | undefined;
  /** Shared by every response ('close' is emitted once per response): no closure per request. */
  private readonly responseClosed = () => {
    this.running--;
    if (this.running === 0) this.idle?.();
  };

  constructor(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    this.server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
      this.running++;
      res.on('close', this.responseClosed);
      handler(req, res);
    });
  }

  /** Listens and returns the bound URL (port 0 picks a free port). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo;
        const shown = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}`);
      });
    });
  }

  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.running > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
  }
}
