import type { ComponentSettings, Extension, Host, HttpListener } from '../../core/component';
import { mountApi } from '../../core/http-api';
import { InflightLimiter } from '../../core/inflight-limiter';
import { RateLimits } from '../../core/ingest/rate-limit';
import { plainErrorStyle } from '../../core/ingest/problems';
import { bodyTimeoutsOf, listenerOptionsOf } from '../../core/listener-config';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { receiverAuthenticator } from '../../core/workspaces';
import type { ControlPlaneExtensionConfig } from './config';
import { controlPlaneRoutes } from './routes';

/** The control plane's HTTP APIs on a shared listener (see README.md). */
export class ControlPlaneExtension implements Extension {
  private listener: HttpListener | undefined;
  private accepting = false;

  constructor(
    private readonly config: ControlPlaneExtensionConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
  ) {}

  async start(host: Host): Promise<void> {
    const limiter = new InflightLimiter(this.config.max_inflight_bytes, this.config.max_receiving_bytes);
    this.listener = await host.acquireHttpListener(this.config.listen, this.settings.id, listenerOptionsOf(this.config));
    const context = {
      owner: this.settings.id,
      auth: receiverAuthenticator(this.config.auth, host.workspaces, this.settings.id),
      rateLimits: new RateLimits(this.config.rate_limit),
      limiter,
      maxRequestBodyBytes: this.config.max_request_body_bytes,
      bodyTimeouts: bodyTimeoutsOf(this.config),
      errorStyle: plainErrorStyle,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      accepting: () => this.accepting,
    };
    mountApi(this.listener.router, controlPlaneRoutes({ host, config: this.config, logger: this.settings.logger }), context);
    this.accepting = true;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    const { listener } = this;
    this.listener = undefined;
    await listener?.release();
  }
}
