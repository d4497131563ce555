import type { Request, Response } from 'express';
import type { ComponentSettings, Host, HttpListener, Receiver, SpanConsumer } from '../component';
import { InflightLimiter } from '../inflight-limiter';
import { bodyTimeoutsOf, listenerOptionsOf } from '../listener-config';
import type { ReceiverTelemetry } from '../telemetry';
import { receiverAuthenticator } from '../workspaces';
import type { WorkspaceDirectory } from '../workspaces';
import type { IngestOptions } from './config';
import { Idempotency, MemoryIdempotencyStore } from './idempotency';
import type { IdempotencyStore } from './idempotency';
import { RateLimits } from './rate-limit';
import { RecordTimes } from './record-times';
import { mountIngestRoute } from './route';
import type { IngestContext, IngestRoute } from './route';

/** A route that answers in a protocol of its own (e.g. OTLP/HTTP) but shares the receiver's context. */
export interface RawRoute {
  path: string;
  raw: (req: Request, res: Response) => void;
}

/**
 * Builds a receiver's routes once the host (and so the workspaces and the store) is known.
 * `recordTimes` gives records with deterministic ids their first receive time (record-times.ts).
 */
export type IngestRoutesFactory = (context: IngestContext, workspaces: WorkspaceDirectory, recordTimes: RecordTimes) => (IngestRoute | RawRoute)[];

/**
 * A receiver made of JSON ingest routes on one HTTP listener (shared with other receivers on the
 * same address). Every route gets the receiver's auth, rate limits, idempotency and bounds.
 */
export class IngestReceiver implements Receiver {
  private listener: HttpListener | undefined;
  private accepting = false;
  private readonly idempotency: Idempotency;
  private readonly store: IdempotencyStore;
  private readonly rateLimits: RateLimits;
  private readonly limiter: InflightLimiter;

  constructor(
    private readonly options: IngestOptions,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly next: SpanConsumer,
    private readonly routes: IngestRoutesFactory,
    store: IdempotencyStore = new MemoryIdempotencyStore(options.idempotency),
  ) {
    this.store = store;
    this.idempotency = new Idempotency(store);
    this.rateLimits = new RateLimits(options.rate_limit);
    this.limiter = new InflightLimiter(options.max_inflight_bytes, options.max_receiving_bytes);
  }

  async start(host: Host): Promise<void> {
    this.rateLimits.share(host.shared?.rateLimits);
    // Answers every instance sees (the in-memory store remains the fallback while Redis is away).
    if (host.shared && this.store instanceof MemoryIdempotencyStore) this.idempotency.useStore(host.shared.idempotencyStore(this.settings.id, this.options.idempotency, this.store));
    const context: IngestContext = {
      receiverId: this.settings.id,
      auth: receiverAuthenticator(this.options.auth, host.workspaces, this.settings.id),
      rateLimits: this.rateLimits,
      idempotency: this.idempotency,
      limiter: this.limiter,
      maxRequestBodyBytes: this.options.max_request_body_bytes,
      bodyTimeouts: bodyTimeoutsOf(this.options),
      next: this.next,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      accepting: () => this.accepting,
      shared: host.shared,
    };
    this.settings.telemetry.watchInflight?.(() => ({ held: this.limiter.inUse, receiving: this.limiter.receiving }));
    this.listener = await host.acquireHttpListener(this.options.listen, this.settings.id, listenerOptionsOf(this.options));
    const recordTimes = RecordTimes.forStore(host.store(), this.settings.logger);
    for (const route of this.routes(context, host.workspaces, recordTimes)) {
      if ('raw' in route) this.listener.router.all(route.path, route.raw);
      else mountIngestRoute(this.listener.router, route, context, this.listener.fallback);
    }
    this.accepting = true;
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    const { listener } = this;
    this.listener = undefined;
    // Waits for requests in flight, which in turn wait for their spans to be durable.
    await listener?.release();
  }
}
