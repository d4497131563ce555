import { ApiKeyAuth } from '../../core/auth';
import type { ComponentSettings, Host, HttpListener, Receiver, SpanConsumer } from '../../core/component';
import { InflightLimiter } from '../../core/inflight-limiter';
import type { ReceiverTelemetry } from '../../core/telemetry';
import type { OtlpReceiverConfig } from './config';
import { createOtlpHttpHandler } from './http-handler';

/** OTLP trace receiver: OTLP/HTTP (protobuf and JSON) on `http.listen`. */
export class OtlpReceiver implements Receiver {
  private listener: HttpListener | undefined;
  private accepting = false;
  private readonly auth: ApiKeyAuth;
  /** One bound for both transports: they share the process's memory. */
  private readonly limiter: InflightLimiter;

  constructor(
    private readonly config: OtlpReceiverConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly next: SpanConsumer,
  ) {
    this.auth = new ApiKeyAuth(config.auth);
    this.limiter = new InflightLimiter(config.max_inflight_bytes);
  }

  async start(host: Host): Promise<void> {
    const http = this.config.http;
    if (http.enabled) {
      this.listener = await host.acquireHttpListener(http.listen, this.settings.id);
      const handler = createOtlpHttpHandler({
        config: http,
        auth: this.auth,
        limiter: this.limiter,
        next: this.next,
        telemetry: this.settings.telemetry,
        logger: this.settings.logger,
        accepting: () => this.accepting,
      });
      this.listener.router.all(http.traces_path, handler);
    }
    this.accepting = true;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    const listener = this.listener;
    this.listener = undefined;
    // Closing the listener waits for requests in flight, which in turn wait for their spans to be durable.
    await listener?.release();
  }
}
