import type { Server } from 'node:net';
import type { Logger } from './logger';
import { RateLimitedWarn } from './rate-limited-warn';
import type { ListenerTelemetry } from './telemetry';

/** Connections one listener holds at once unless configured otherwise (`max_connections`). */
export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface ConnectionCapOptions {
  /** Listener name in logs and the `listener` label, e.g. "http 127.0.0.1:4318". */
  listener: string;
  maxConnections: number;
  telemetry: ListenerTelemetry | undefined;
  logger: Logger;
}

/**
 * Caps the connections a server holds open (node's `server.maxConnections`: a connection beyond
 * the cap is closed as soon as it is accepted, so the process keeps file descriptors for the other
 * listeners), counts refused connections and open ones, and warns (at most every 10 s) when the
 * cap is hit. Works for any net.Server: HTTP listeners, and the socket server that feeds gRPC.
 */
export function capConnections(server: Server, options: ConnectionCapOptions): { setMax(max: number): void } {
  const { telemetry, listener } = options;
  server.maxConnections = options.maxConnections;
  const warning = new RateLimitedWarn(options.logger, 'listener is at max_connections: refusing new connections');
  server.on('connection', (socket) => {
    telemetry?.opened();
    socket.once('close', () => telemetry?.closed());
  });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    telemetry?.refusedConnection();
    warning.warn({ listener, max_connections: server.maxConnections, remote: data?.remoteAddress });
  });
  return {
    setMax: (max) => {
      server.maxConnections = max;
    },
  };
}
