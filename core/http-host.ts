import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import type { Request, Response } from 'express';
import type { HttpListener, HttpListenerOptions } from './component';
import { capConnections, DEFAULT_MAX_CONNECTIONS } from './connection-cap';
import { guardMiddleware, RequestGuard } from './http-guard';
import type { GuardRefusal } from './http-guard';
import { listenKey, parseListen } from './listen';
import type { Logger } from './logger';
import { encodeRpcStatus } from './otlp/encode';
import { RPC_CODE } from './otlp/rpc-codes';
import { RateLimitedWarn } from './rate-limited-warn';
import type { ListenerTelemetry, Telemetry } from './telemetry';

interface SharedServer {
  server: http.Server;
  router: express.Router;
  fallback: express.Router;
  port: number;
  owners: Set<string>;
  guard: RequestGuard;
  maxConnections: number;
  setMaxConnections(max: number): void;
}

/**
 * Timeouts of the ingest listeners. Slow clients must not pin sockets: headers must arrive within
 * 15 s, a whole request within 120 s (generous for large uploads; bodies that stall are cut much
 * sooner by the receivers' body_idle_timeout_ms), idle keep-alive connections close after 65 s
 * (longer than the usual 60 s of load balancers in front). Node checks them every second.
 */
export const INGEST_LISTENER_TIMEOUTS = {
  headersTimeout: 15_000,
  requestTimeout: 120_000,
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 1_000,
} as const;

/**
 * Owns the HTTP servers receivers listen on. Receivers configured with the same address share one
 * server (each mounts its own routes); the server closes when its last receiver releases it.
 * Every server refuses requests for a foreign Host and cross-site browser requests before any
 * route runs (core/http-guard.ts), and holds at most `max_connections` connections.
 */
export class HttpHost {
  private readonly servers = new Map<string, Promise<SharedServer>>();

  constructor(
    private readonly logger: Logger,
    private readonly telemetry?: Telemetry,
  ) {}

  /**
   * Opens or shares the server for `listen`. Receivers sharing one address share its listener: it
   * serves the union of their `allowedHosts` and holds the smallest of their `maxConnections`.
   */
  async acquire(listen: string, owner: string, options: HttpListenerOptions = {}): Promise<HttpListener> {
    const key = listenKey(listen);
    let pending = this.servers.get(key);
    if (!pending) {
      pending = this.open(listen);
      this.servers.set(key, pending);
      pending.catch(() => this.servers.delete(key));
    }
    const shared = await pending;
    shared.owners.add(owner);
    shared.guard.allow(options.allowedHosts ?? []);
    if (options.maxConnections !== undefined && options.maxConnections < shared.maxConnections) shared.setMaxConnections(options.maxConnections);
    let released = false;
    return {
      router: shared.router,
      fallback: shared.fallback,
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
    const server = http.createServer(INGEST_LISTENER_TIMEOUTS, app);
    trackRequests(server);
    // The Host check runs on every request: the bound port is read from the socket once.
    let boundPort: number | undefined;
    server.once('listening', () => (boundPort = (server.address() as AddressInfo).port));
    const port = () => boundPort ?? addr.port;
    const guard = new RequestGuard(addr.host, port);
    // Named by the bound address once listening; requests only arrive after that.
    let name = `http ${addr.host}:${addr.port}`;
    let telemetry: ListenerTelemetry | undefined;
    const refusedWarning = new RateLimitedWarn(this.logger, 'refused requests for a foreign Host or from another site (DNS rebinding or a web page?)');
    app.use(
      guardMiddleware(guard, (req, res, refusal) => {
        telemetry?.refusedRequest(refusal.reason);
        refusedWarning.warn({ listener: name, reason: refusal.reason, host: req.headers.host, origin: req.headers.origin });
        refuseAsStatus(req, res, refusal);
      }),
    );
    const router = express.Router();
    app.use(router);
    const fallback = express.Router();
    app.use(fallback);
    app.use((req, res) => {
      res.status(404).json({ code: 5, message: `no route for ${req.method} ${req.path}` });
    });
    server.listen(addr.port, addr.host);
    await once(server, 'listening');
    name = `http ${addr.host}:${port()}`;
    telemetry = this.telemetry?.forListener(name);
    let maxConnections = DEFAULT_MAX_CONNECTIONS;
    const cap = capConnections(server, { listener: name, maxConnections, telemetry, logger: this.logger });
    this.logger.info({ listen: `${addr.host}:${port()}` }, 'http listener started');
    return {
      server,
      router,
      fallback,
      port: port(),
      owners: new Set(),
      guard,
      get maxConnections() {
        return maxConnections;
      },
      setMaxConnections: (max) => {
        maxConnections = max;
        cap.setMax(max);
      },
    };
  }
}

/**
 * A listener-level refusal as the listener's 404 answers too: a google.rpc.Status, in protobuf for
 * a protobuf request (OTLP), JSON otherwise; its message starts with the Tracehouse code.
 */
function refuseAsStatus(req: Request, res: Response, refusal: GuardRefusal): void {
  const rpc = RPC_CODE.PERMISSION_DENIED;
  const message = `${refusal.code}: ${refusal.message}`;
  const mime = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') {
    const body = encodeRpcStatus(rpc, message, 'proto');
    res.status(refusal.status).type('application/x-protobuf').send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    return;
  }
  res.status(refusal.status).type('application/json').send(encodeRpcStatus(rpc, message, 'json'));
}

/** Per server: its open connections and how many requests each has in flight. */
const requestsInFlight = new WeakMap<http.Server, Map<Socket, number>>();

/**
 * Counts the requests in flight on each connection of `server`, so that closeServer can drop the
 * connections that have none, including those still sending headers: server.close() stops node's
 * header and request timeouts, so such a connection would otherwise hold the server open forever.
 */
export function trackRequests(server: http.Server): void {
  const counts = new Map<Socket, number>();
  requestsInFlight.set(server, counts);
  server.on('connection', (socket: Socket) => {
    counts.set(socket, 0);
    socket.once('close', () => counts.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    counts.set(socket, (counts.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = counts.get(socket);
      if (n !== undefined) counts.set(socket, n - 1);
    });
  });
}

/** Stops accepting connections and resolves when in-flight requests have been answered. */
export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() only drops the keep-alive connections idle at this moment; a connection whose request
  // is still in flight becomes idle when answered and would otherwise hold the server open until
  // its keep-alive timeout. Connections without a request in flight (idle, or still sending
  // headers) are dropped as well.
  const sweep = () => {
    server.closeIdleConnections();
    for (const [socket, n] of requestsInFlight.get(server) ?? []) if (n <= 0) socket.destroy();
  };
  const sweeper = setInterval(sweep, 50);
  sweep();
  await closed;
  clearInterval(sweeper);
}
