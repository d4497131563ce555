import type { ComponentSettings, Host, HttpListener, Receiver, SpanConsumer } from '../../core/component';
import type { ReceiverTelemetry } from '../../core/telemetry';
import type { OtlpReceiverConfig } from './config';
import { createOtlpHttpHandler } from './http-handler';

/** OTLP trace receiver: OTLP/HTTP (protobuf and JSON) on `http.listen`. */
export class OtlpReceiver implements Receiver {
  private listener: HttpListener | undefined;
  private accepting = false;

  constructor(
    private readonly config: OtlpReceiverConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly next: SpanConsumer,
  ) {}

  async start(host: Host): Promise<void> {
    this.listener = await host.acquireHttpListener(this.config.http.listen, this.settings.id);
    const handler = createOtlpHttpHandler({
      config: this.config,
      next: this.next,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      accepting: () => this.accepting,
    });
    this.listener.router.all(this.config.http.traces_path, handler);
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
