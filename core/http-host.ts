import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { HttpListener } from './component';
import { listenKey, parseListen } from './listen';
import type { Logger } from './logger';

interface SharedServer {
  server: http.Server;
  router: express.Router;
  port: number;
  owners: Set<string>;
}

/**
 * Owns the HTTP servers receivers listen on. Receivers configured with the same address share one
 * server (each mounts its own routes); the server closes when its last receiver releases it.
 */
export class HttpHost {
  private readonly servers = new Map<string, Promise<SharedServer>>();

  constructor(private readonly logger: Logger) {}

  async acquire(listen: string, owner: string): Promise<HttpListener> {
    const key = listenKey(listen);
    let pending = this.servers.get(key);
    if (!pending) {
      pending = this.open(listen);
      this.servers.set(key, pending);
      pending.catch(() => this.servers.delete(key));
    }
    const shared = await pending;
    shared.owners.add(owner);
    let released = false;
    return {
      router: shared.router,
      port: shared.port,
      release: async () => {
        if (released) return;
        released = true;
        shared.owners.delete(owner);
        if (shared.owners.size === 0) {
          this.servers.delete(key);
          await closeServer(shared.server);
        }
      },
    };
  }

  private async open(listen: string): Promise<SharedServer> {
    const addr = parseListen(listen);
    if (!addr) throw new Error(`invalid listen address "${listen}"`);
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const router = express.Router();
    app.use(router);
    app.use((req, res) => {
      res.status(404).json({ code: 5, message: `no route for ${req.method} ${req.path}` });
    });
    const server = http.createServer(app);
    // Slow clients must not pin sockets forever; generous enough for large uploads.
    server.requestTimeout = 120_000;
    server.headersTimeout = 30_000;
    server.keepAliveTimeout = 65_000;
    server.listen(addr.port, addr.host);
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    this.logger.info({ listen: `${addr.host}:${port}` }, 'http listener started');
    return { server, router, port, owners: new Set() };
  }
}

/** Stops accepting connections and resolves when in-flight requests have been answered. */
export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() only drops the keep-alive connections idle at this moment; a connection whose request
  // is still in flight becomes idle when answered and would otherwise hold the server open until
  // its keep-alive timeout.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  await closed;
  clearInterval(sweeper);
}
