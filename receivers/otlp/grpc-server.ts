import * as grpc from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { capConnections, DEFAULT_MAX_CONNECTIONS } from '../../core/connection-cap';
import { widenConnectionWindows, widenStreamWindow } from './flow-control';
import { gateOnPreface } from './preface-gate';
import { errorMessage, PermanentError } from '../../core/errors';
import { parseListen } from '../../core/listen';
import { decodeTraceRequestProto } from '../../core/otlp/decode';
import type { DecodedTraces } from '../../core/otlp/decode';
import { encodeTraceResponse } from '../../core/otlp/encode';
import { RetryInfo, RpcStatus } from '../../core/otlp/pb';
import type { OtlpGrpcConfig } from './config';
import { deliverExport, stampFor, type ExportOutcome } from '../../core/otlp/deliver-export';
import type { OtlpTransportContext } from '../../core/otlp/deliver-export';
import { THROTTLE_RETRY_AFTER_SECONDS } from '../../core/otlp/rpc-codes';

const identity = (bytes: Buffer): Buffer => bytes;

/** Connection lifetimes of the OTLP/gRPC listener unless configured (receivers/otlp/README.md). */
export const GRPC_CONNECTION_DEFAULTS = {
  maxConnectionIdleMs: 30_000,
  maxConnectionAgeMs: 900_000,
  maxConnectionAgeGraceMs: 60_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
} as const;

/** A connection must send the HTTP/2 preface within this (or max_connection_idle_ms if shorter). */
const PREFACE_TIMEOUT_MS = 10_000;

/**
 * TraceService/Export with messages left as bytes on both sides: the handler decodes with the same
 * static codec (and partial-success rules) as OTLP/HTTP instead of a second, reflection-based one,
 * and clients (tests, bench) can send pre-encoded requests.
 */
export const otlpTraceServiceDefinition = {
  export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

export interface OtlpGrpcServerOptions extends OtlpTransportContext {
  config: OtlpGrpcConfig;
}

interface Refusal {
  code: grpc.status;
  message: string;
  outcome: string;
  retryAfterSeconds?: number;
}

/**
 * OTLP/gRPC trace export, answering with the status codes the OTLP specification prescribes and
 * OK only once the spans are durable downstream. TLS is not offered (plaintext HTTP/2).
 */
export class OtlpGrpcServer {
  private server: grpc.Server | undefined;
  private sockets: net.Server | undefined;
  private openSockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(private readonly options: OtlpGrpcServerOptions) {}

  /** The bound port (the configured one, or the one chosen for port 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { config, logger } = this.options;
    const addr = parseListen(config.listen);
    if (!addr) throw new Error(`invalid listen address "${config.listen}"`);
    const server = new grpc.Server({
      // grpc-js refuses larger messages itself (RESOURCE_EXHAUSTED) from the 5-byte message header,
      // before buffering them, and again while inflating a gzip message.
      'grpc.max_receive_message_length': config.max_recv_msg_size_bytes,
      // Idle and long-lived connections are closed (GOAWAY, after the calls in flight), and peers
      // that vanished without closing are found by pings, so sockets cannot pile up.
      'grpc.max_connection_idle_ms': config.max_connection_idle_ms ?? GRPC_CONNECTION_DEFAULTS.maxConnectionIdleMs,
      'grpc.max_connection_age_ms': config.max_connection_age_ms ?? GRPC_CONNECTION_DEFAULTS.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': config.max_connection_age_grace_ms ?? GRPC_CONNECTION_DEFAULTS.maxConnectionAgeGraceMs,
      'grpc.keepalive_time_ms': config.keepalive_time_ms ?? GRPC_CONNECTION_DEFAULTS.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': config.keepalive_timeout_ms ?? GRPC_CONNECTION_DEFAULTS.keepaliveTimeoutMs,
      interceptors: [this.gate],
    });
    server.addService(otlpTraceServiceDefinition, { export: this.handleExport });
    widenStreamWindow(server);
    // The sockets are accepted by our own server and handed to grpc-js, so that the listener can
    // hold at most max_connections (grpc-js has no such option) and count what it refuses.
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    widenConnectionWindows(server);
    const idleMs = config.max_connection_idle_ms ?? GRPC_CONNECTION_DEFAULTS.maxConnectionIdleMs;
    const prefaceTimeoutMs = Math.min(idleMs, PREFACE_TIMEOUT_MS);
    const open = new Set<net.Socket>();
    const sockets = net.createServer((socket) => {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      gateOnPreface(socket, prefaceTimeoutMs, (ready) => injector.injectConnection(ready));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        sockets.once('error', reject);
        sockets.listen(addr.port, addr.host, () => {
          sockets.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.forceShutdown();
      throw new Error(`cannot listen for OTLP/gRPC on ${config.listen}: ${errorMessage(err)}`, { cause: err });
    }
    sockets.on('error', (err) => logger.error({ err: errorMessage(err) }, 'OTLP/gRPC listener error'));
    this.boundPort = (sockets.address() as AddressInfo).port;
    const listener = `grpc ${addr.host}:${this.boundPort}`;
    capConnections(sockets, {
      listener,
      maxConnections: config.max_connections ?? DEFAULT_MAX_CONNECTIONS,
      telemetry: this.options.telemetry.listener?.(listener),
      logger,
    });
    this.server = server;
    this.sockets = sockets;
    this.openSockets = open;
    logger.info({ listen: config.listen, port: this.boundPort }, 'OTLP/gRPC listener started');
  }

  /**
   * Stops accepting, sends GOAWAY and waits for the calls in flight, which wait for their spans to
   * be durable. Not bounded here: the service's shutdown timeout is the one bound for draining the
   * whole daemon.
   */
  async shutdown(): Promise<void> {
    const { server, sockets, openSockets } = this;
    this.server = undefined;
    this.sockets = undefined;
    const closed = sockets ? new Promise<void>((resolve) => sockets.close(() => resolve())) : undefined;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    // Every HTTP/2 session is closed by now; what is left has not sent the preface yet.
    for (const socket of openSockets) socket.destroy();
    await closed;
  }

  /**
   * Auth and shutdown are decided on the call's metadata, so refused calls are answered without
   * their message ever being read (the handler would only run once grpc-js has buffered it).
   */
  private readonly gate: grpc.ServerInterceptor = (_method, call) => {
    // The message must arrive within request_timeout_ms: grpc-js buffers it before the handler
    // runs, so a client trickling it would otherwise hold the stream and its buffer for ever.
    let messageTimer: NodeJS.Timeout | undefined;
    const stopTimer = () => clearTimeout(messageTimer);
    const timeoutMs = this.options.config.request_timeout_ms ?? GRPC_CONNECTION_DEFAULTS.requestTimeoutMs;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            const refusal = this.refusalFor(metadata);
            if (refusal === undefined) {
              messageTimer = setTimeout(() => {
                this.options.telemetry.request('body_timeout');
                call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `the Export message did not arrive within grpc.request_timeout_ms (${timeoutMs} ms)` });
              }, timeoutMs);
              return proceed(metadata);
            }
            this.options.telemetry.request(refusal.outcome);
            call.sendStatus(statusOf(refusal));
          },
          onReceiveMessage: (message, proceed) => {
            stopTimer();
            proceed(message);
          },
          onReceiveHalfClose: (proceed) => {
            stopTimer();
            proceed();
          },
          onCancel: stopTimer,
        }),
    });
  };

  private refusalFor(metadata: grpc.Metadata): Refusal | undefined {
    const auth = this.options.auth.authenticate(headersOf(metadata));
    if (auth.outcome === 'missing') {
      return { code: grpc.status.UNAUTHENTICATED, message: 'missing API key: send metadata authorization: Bearer <key>', outcome: 'unauthenticated' };
    }
    if (auth.outcome === 'invalid') return { code: grpc.status.UNAUTHENTICATED, message: 'invalid API key', outcome: 'unauthenticated' };
    if (auth.outcome === 'forbidden' || (auth.outcome === 'ok' && !auth.roles.includes('ingest'))) {
      return { code: grpc.status.PERMISSION_DENIED, message: auth.outcome === 'forbidden' ? 'this API key is not allowed on this receiver' : 'this API key has no ingest role', outcome: 'permission_denied' };
    }
    if (!this.options.accepting()) {
      return { code: grpc.status.UNAVAILABLE, message: 'receiver is shutting down', outcome: 'shutting_down', retryAfterSeconds: THROTTLE_RETRY_AFTER_SECONDS };
    }
    return undefined;
  }

  private readonly handleExport: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const { limiter, telemetry } = this.options;
    const refuse = (refusal: Refusal) => {
      telemetry.request(refusal.outcome);
      callback(statusOf(refusal));
    };
    // The message is already in memory; holding it (and what decodes from it) is what the bound
    // limits, so that a burst of large calls turns into throttling instead of heap growth.
    const release = limiter.tryReserve(call.request.length);
    if (!release) {
      telemetry.refused(0, 'inflight_limit');
      return refuse({
        code: grpc.status.RESOURCE_EXHAUSTED,
        message: `receiver is at max_inflight_bytes (${limiter.maxBytes}); retry later`,
        outcome: 'inflight_limit',
        retryAfterSeconds: THROTTLE_RETRY_AFTER_SECONDS,
      });
    }
    void this.export(call)
      .catch((err: unknown): Refusal => {
        this.options.logger.error({ err: errorMessage(err) }, 'unexpected error handling an OTLP/gRPC export');
        return { code: grpc.status.INTERNAL, message: 'internal error handling the request', outcome: 'internal_error' };
      })
      .then((answer) => {
        if ('body' in answer) {
          telemetry.request(answer.outcome);
          callback(null, answer.body);
        } else {
          refuse(answer);
        }
      })
      .finally(release);
  };

  /** Decodes and hands on; a plain function, so no frame holds the decoded spans while they wait for their insert. */
  private deliver(call: grpc.ServerUnaryCall<Buffer, Buffer>): Promise<ExportOutcome> | Refusal {
    const { next, telemetry, logger } = this.options;
    let decoded: DecodedTraces;
    try {
      decoded = decodeTraceRequestProto(call.request);
    } catch (err) {
      if (err instanceof PermanentError) return { code: grpc.status.INVALID_ARGUMENT, message: err.message, outcome: 'undecodable' };
      throw err;
    }
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    // Metadata was already checked before the message arrived; this lookup only names the workspace.
    const auth = this.options.auth.authenticate(headersOf(call.metadata));
    const stamp = stampFor(this.options, auth.outcome === 'ok' ? auth.workspace : undefined);
    return deliverExport(decoded, { next, telemetry, logger, signal: controller.signal, stamp });
  }

  private async export(call: grpc.ServerUnaryCall<Buffer, Buffer>): Promise<{ body: Buffer; outcome: string } | Refusal> {
    const delivery = this.deliver(call);
    if (!(delivery instanceof Promise)) return delivery;
    const outcome = await delivery;
    if (!outcome.ok) {
      const { failure } = outcome;
      const code = failure.status === 400 ? grpc.status.INVALID_ARGUMENT : failure.status === 429 ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.UNAVAILABLE;
      return { code, message: failure.message, outcome: failure.reason, retryAfterSeconds: failure.retryAfterSeconds };
    }
    const body = encodeTraceResponse(outcome.partial, 'proto');
    return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), outcome: outcome.partial ? 'partial_success' : 'success' };
  }
}

/**
 * A retryable refusal names its delay the way OTLP/gRPC clients look for it: a google.rpc.Status
 * carrying RetryInfo in the grpc-status-details-bin trailer (the HTTP side's Retry-After).
 */
function statusOf(refusal: Refusal): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (refusal.retryAfterSeconds !== undefined) {
    const retryInfo = RetryInfo.encode({ retryDelay: { seconds: refusal.retryAfterSeconds } }).finish();
    const details = RpcStatus.encode({
      code: refusal.code,
      message: refusal.message,
      details: [{ type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: retryInfo }],
    }).finish();
    metadata.set('grpc-status-details-bin', Buffer.from(details));
  }
  return { code: refusal.code, details: refusal.message, metadata };
}

/** The request headers ApiKeyAuth reads, from gRPC metadata (ASCII values only). */
function headersOf(metadata: grpc.Metadata): IncomingHttpHeaders {
  const first = (key: string) => metadata.get(key).find((v): v is string => typeof v === 'string');
  return { authorization: first('authorization'), 'x-api-key': first('x-api-key') };
}
