import type { Authenticator } from '../../core/auth';
import type { ComponentSettings, Host, HttpListener, Receiver, SpanConsumer } from '../../core/component';
import { InflightLimiter } from '../../core/inflight-limiter';
import { bodyTimeoutsOf, listenerOptionsOf } from '../../core/listener-config';
import type { ReceiverTelemetry } from '../../core/telemetry';
import type { OtlpReceiverConfig } from './config';
import { OtlpGrpcServer } from './grpc-server';
import { createOtlpHttpHandler } from '../../core/otlp/http-handler';
import { receiverAuthenticator } from '../../core/workspaces';

/** OTLP trace receiver: OTLP/HTTP (protobuf and JSON) on `http.listen`, OTLP/gRPC on `grpc.listen`. */
export class OtlpReceiver implements Receiver {
  private listener: HttpListener | undefined;
  private grpc: OtlpGrpcServer | undefined;
  private accepting = false;
  /** One bound for both transports: they share the process's memory. */
  private readonly limiter: InflightLimiter;

  constructor(
    private readonly config: OtlpReceiverConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.limiter = new InflightLimiter(config.max_inflight_bytes, config.max_receiving_bytes);
  }

  /** The bound OTLP/gRPC port (tests listen on port 0), undefined while gRPC is not listening. */
  get grpcPort(): number | undefined {
    return this.grpc?.port;
  }

  async start(host: Host): Promise<void> {
    const { http, grpc } = this.config;
    this.settings.telemetry.watchInflight?.(() => ({ held: this.limiter.inUse, receiving: this.limiter.receiving }));
    const auth: Authenticator = receiverAuthenticator(this.config.auth, host.workspaces, this.settings.id);
    const shared = {
      auth,
      limiter: this.limiter,
      next: this.next,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      accepting: () => this.accepting,
      sourceId: this.settings.id,
      defaultWorkspace: this.config.default_workspace,
    };
    if (http.enabled) {
      this.listener = await host.acquireHttpListener(http.listen, this.settings.id, listenerOptionsOf(http));
      this.listener.router.all(http.traces_path, createOtlpHttpHandler({ maxRequestBodyBytes: http.max_request_body_bytes, bodyTimeouts: bodyTimeoutsOf(http), ...shared }));
    }
    if (grpc.enabled) {
      const server = new OtlpGrpcServer({ config: grpc, ...shared });
      await server.start();
      this.grpc = server;
    }
    this.accepting = true;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    const { listener, grpc } = this;
    this.listener = undefined;
    this.grpc = undefined;
    // Both wait for requests in flight, which in turn wait for their spans to be durable.
    await Promise.all([listener?.release(), grpc?.shutdown()]);
  }
}
