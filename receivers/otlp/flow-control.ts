/**
 * HTTP/2 receive windows for the gRPC receiver. grpc-js's server keeps Node's default of 64 KiB
 * per stream and per connection and has no option to raise them (grpc/grpc-node#3058 adds
 * `grpc-node.flow_control_window` to the server; not in a release of 1.14). SDK exporters carry
 * many concurrent Export calls on one connection, and with 64 KiB in flight their requests arrive
 * one WINDOW_UPDATE round trip at a time: measured (2026-12-07, `npm run bench`) 1,600-1,900 spans
 * per insert instead of ~3,100 and about a quarter fewer spans/s than OTLP/HTTP.
 *
 * So the server advertises STREAM_WINDOW per stream in its SETTINGS and opens CONNECTION_WINDOW per
 * connection, through grpc-js internals, applied only when they are there (a later grpc-js with
 * the option, or another layout, leaves Node's defaults: slower, never wrong). A peer can then have
 * at most CONNECTION_WINDOW unread bytes per connection, and connections are capped per listener.
 */
import type * as grpc from '@grpc/grpc-js';
import type http2 from 'node:http2';

export const STREAM_WINDOW = 1 << 20;
export const CONNECTION_WINDOW = 8 << 20;

interface ServerInternals {
  commonServerOptions?: http2.ServerOptions;
  http2Servers?: Map<http2.Http2Server, unknown>;
}

/** Call before creating listeners: the per-stream window new connections are offered. */
export function widenStreamWindow(server: grpc.Server): void {
  const internals = server as unknown as ServerInternals;
  const options = internals.commonServerOptions;
  if (options && typeof options === 'object') options.settings = { ...options.settings, initialWindowSize: STREAM_WINDOW };
}

/** Call after creating listeners: every connection they accept gets the wider connection window. */
export function widenConnectionWindows(server: grpc.Server): void {
  const servers = (server as unknown as ServerInternals).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: http2.ServerHttp2Session) => {
      if (typeof session.setLocalWindowSize === 'function') session.setLocalWindowSize(CONNECTION_WINDOW);
    });
  }
}
