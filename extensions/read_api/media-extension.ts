/**
 * The read_api extension: its JSON routes (core/api-extension.ts, behind API keys) plus the signed
 * media route on the same listener, which needs no key (media-file-route.ts).
 */
import { ApiExtension } from '../../core/api-extension';
import type { ComponentSettings, Extension, Host, HttpListener } from '../../core/component';
import { listenerOptionsOf } from '../../core/listener-config';
import type { ReceiverTelemetry } from '../../core/telemetry';
import type { ReadApiExtensionConfig } from './config';
import { mountSignedMedia } from './media-file-route';
import { mediaSignerFor } from './media-signing';
import { readApiRoutes } from './routes';

export class ReadApiExtension implements Extension {
  private readonly api: ApiExtension;
  private listener: HttpListener | undefined;

  constructor(
    private readonly config: ReadApiExtensionConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
  ) {
    this.api = new ApiExtension(config, settings, (host) => readApiRoutes({ host, config, logger: settings.logger }));
  }

  async start(host: Host): Promise<void> {
    await this.api.start(host);
    this.listener = await host.acquireHttpListener(this.config.listen, `${this.settings.id}#media`, listenerOptionsOf(this.config));
    const deps = { host, config: this.config, logger: this.settings.logger };
    mountSignedMedia(this.listener.router, deps, mediaSignerFor(host, this.config.media_url_ttl_seconds));
  }

  async shutdown(): Promise<void> {
    const { listener } = this;
    this.listener = undefined;
    await listener?.release();
    await this.api.shutdown();
  }
}
