/**
 * An extension made of JSON resource routes (core/http-api.ts) on a shared listener: the control
 * plane and the read APIs. Every such extension has the ingest listener's options (address, auth,
 * rate limits, body bounds; `apiListenerOptions`), and gets its routes once the host is known.
 */
import { z } from 'zod';
import type { ClaimedRoute, ComponentSettings, Extension, Host, HttpListener } from './component';
import { mountApi } from './http-api';
import type { ApiRoute } from './http-api';
import { InflightLimiter } from './inflight-limiter';
import { Idempotency, MemoryIdempotencyStore } from './ingest/idempotency';
import { ingestOptions } from './ingest/config';
import { plainErrorStyle } from './ingest/problems';
import type { ErrorStyle } from './ingest/problems';
import { RateLimits } from './ingest/rate-limit';
import { bodyTimeoutsOf, listenerOptionsOf } from './listener-config';
import type { ReceiverTelemetry } from './telemetry';
import { receiverAuthenticator } from './workspaces';

/** The listener options of an API extension, spread into its config schema. */
export function apiListenerOptions(defaults: { rateLimit: number; maxRequestBodyBytes: number }) {
  return ingestOptions(defaults);
}

const apiListenerSchema = z.strictObject(apiListenerOptions({ rateLimit: 1, maxRequestBodyBytes: 1 }));
export type ApiListenerConfig = z.output<typeof apiListenerSchema>;

/** The routes an API extension claims, for the config's route-conflict checks. */
export function apiClaims(config: ApiListenerConfig, paths: readonly string[]): ClaimedRoute[] {
  return paths.map((route) => ({ listen: config.listen, route, configPath: 'listen', auth: config.auth }));
}

export class ApiExtension implements Extension {
  private listener: HttpListener | undefined;
  private accepting = false;

  constructor(
    private readonly config: ApiListenerConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly routes: (host: Host) => ApiRoute[],
    private readonly errorStyle: ErrorStyle = plainErrorStyle,
  ) {}

  async start(host: Host): Promise<void> {
    this.listener = await host.acquireHttpListener(this.config.listen, this.settings.id, listenerOptionsOf(this.config));
    const rateLimits = new RateLimits(this.config.rate_limit);
    rateLimits.share(host.shared?.rateLimits);
    const memory = new MemoryIdempotencyStore(this.config.idempotency);
    const idempotency = new Idempotency(host.shared ? host.shared.idempotencyStore(this.settings.id, this.config.idempotency, memory) : memory);
    mountApi(this.listener.router, this.routes(host), {
      owner: this.settings.id,
      auth: receiverAuthenticator(this.config.auth, host.workspaces, this.settings.id),
      rateLimits,
      limiter: new InflightLimiter(this.config.max_inflight_bytes, this.config.max_receiving_bytes),
      maxRequestBodyBytes: this.config.max_request_body_bytes,
      bodyTimeouts: bodyTimeoutsOf(this.config),
      errorStyle: this.errorStyle,
      idempotency,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      accepting: () => this.accepting,
    });
    this.accepting = true;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    const { listener } = this;
    this.listener = undefined;
    await listener?.release();
  }
}
