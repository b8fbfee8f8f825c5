// The metrics endpoint: GET /metrics (Prometheus text format), /healthz (the process is alive) and
// /readyz (the store is open and listeners are up). Plain node:http, no framework.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** True once the store is open and the listeners are up; false again while draining. */
  readonly ready: () => boolean;
  /** Produces the exposition text; defaults to registry.metrics(). Pass metrics.scrape to run scrape hooks. */
  readonly scrape?: () => Promise<string>;
  /** Called when producing /metrics fails, so the caller can log it. */
  readonly onError?: (error: unknown) => void;
}

export interface MetricsServer {
  address(): { host: string; port: number };
  /** Stops accepting and closes open (keep-alive) connections. */
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const scrape = options.scrape ?? (() => options.registry.metrics());

  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: string, contentType = 'text/plain; charset=utf-8', extra: http.OutgoingHttpHeaders = {}): void => {
      response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      send(404, 'not found: try /metrics, /healthz or /readyz\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      send(200, 'ok\n');
    } else if (path === '/readyz') {
      let ready = false;
      try {
        ready = options.ready();
      } catch {
        ready = false; // a readiness probe that throws means "not ready", never a crash
      }
      send(ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
    } else {
      scrape().then(
        (body) => send(200, body, options.registry.contentType),
        (error: unknown) => {
          options.onError?.(error);
          send(500, 'metrics collection failed\n');
        },
      );
    }
  });
  // Scrapes are short; do not let a stalled client hold a socket forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    address() {
      const info = server.address() as AddressInfo;
      return { host: info.address, port: info.port };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
