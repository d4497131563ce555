import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Self-telemetry for every component, recorded through these helpers so no component hand-rolls
 * its own counters. One Telemetry (and one prom-client Registry) per running service.
 */
export class Telemetry {
  readonly registry = new Registry();

  private readonly receiverAccepted = new Counter({
    name: 'tracehouse_receiver_accepted_spans_total',
    help: 'Spans a receiver accepted and handed to its pipelines successfully.',
    labelNames: ['receiver'],
    registers: [this.registry],
  });
  private readonly receiverRefused = new Counter({
    name: 'tracehouse_receiver_refused_spans_total',
    help: 'Spans (or requests, when undecodable) a receiver refused, by reason.',
    labelNames: ['receiver', 'reason'],
    registers: [this.registry],
  });
  private readonly receiverRequests = new Counter({
    name: 'tracehouse_receiver_requests_total',
    help: 'Requests a receiver answered, by outcome.',
    labelNames: ['receiver', 'outcome'],
    registers: [this.registry],
  });
  private readonly exporterSent = new Counter({
    name: 'tracehouse_exporter_sent_spans_total',
    help: 'Spans an exporter wrote durably.',
    labelNames: ['exporter'],
    registers: [this.registry],
  });
  private readonly exporterFailed = new Counter({
    name: 'tracehouse_exporter_failed_spans_total',
    help: 'Spans an exporter failed to write, by reason.',
    labelNames: ['exporter', 'reason'],
    registers: [this.registry],
  });
  private readonly dropped = new Counter({
    name: 'tracehouse_processor_dropped_spans_total',
    help: 'Spans a processor dropped on purpose, by reason.',
    labelNames: ['processor', 'reason'],
    registers: [this.registry],
  });
  private readonly processorEvents = new Counter({
    name: 'tracehouse_processor_events_total',
    help: 'Things a processor did or met, by kind (e.g. redactions per detector, spans with an unknown model).',
    labelNames: ['processor', 'event', 'kind'],
    registers: [this.registry],
  });
  private readonly exportDuration = new Histogram({
    name: 'tracehouse_exporter_batch_seconds',
    help: 'Duration of one exporter write (e.g. one ClickHouse insert), successful or not.',
    labelNames: ['exporter'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly exportBatchSpans = new Histogram({
    name: 'tracehouse_exporter_batch_spans',
    help: 'Number of spans in one exporter write.',
    labelNames: ['exporter'],
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 50000],
    registers: [this.registry],
  });
  private readonly sharedStateUnavailableTotal = new Counter({
    name: 'tracehouse_shared_state_unavailable_total',
    help: 'Uses of shared state (Redis) that found it unavailable or too slow, by feature; each fell back as on_unavailable says.',
    labelNames: ['feature'],
    registers: [this.registry],
  });

  /** Counts a use of shared state that found Redis unavailable. */
  sharedStateUnavailable(feature: string): void {
    this.sharedStateUnavailableTotal.inc({ feature });
  }

  private readonly queueSize = new Gauge({
    name: 'tracehouse_exporter_queue_spans',
    help: 'Spans waiting in an exporter queue.',
    labelNames: ['exporter'],
    registers: [this.registry],
  });
  private readonly queueCapacity = new Gauge({
    name: 'tracehouse_exporter_queue_capacity_spans',
    help: 'Capacity of an exporter queue.',
    labelNames: ['exporter'],
    registers: [this.registry],
  });
  /** Readers of each receiver's in-flight bound, sampled at scrape time. */
  private readonly inflightReaders = new Map<string, () => InflightUse>();
  private readonly receiverInflight = new Gauge({
    name: 'tracehouse_receiver_inflight_bytes',
    help: 'Request bytes a receiver holds against max_inflight_bytes (bodies arriving, decoded, being delivered).',
    labelNames: ['receiver'],
    registers: [this.registry],
    collect: () => this.sampleInflight(),
  });
  private readonly receiverReceiving = new Gauge({
    name: 'tracehouse_receiver_receiving_bytes',
    help: 'Of tracehouse_receiver_inflight_bytes, the bytes of request bodies still arriving.',
    labelNames: ['receiver'],
    registers: [this.registry],
  });
  private readonly listenerOpen = new Gauge({
    name: 'tracehouse_listener_open_connections',
    help: 'Connections a listener holds open.',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  private readonly listenerRefusedConnections = new Counter({
    name: 'tracehouse_listener_connections_refused_total',
    help: 'Connections a listener closed at once because it already held max_connections.',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  private readonly listenerRefusedRequests = new Counter({
    name: 'tracehouse_listener_requests_refused_total',
    help: 'Requests a listener refused before any route ran, by reason (host_not_allowed, cross_site).',
    labelNames: ['listener', 'reason'],
    registers: [this.registry],
  });

  /** Readers of each gateway's upstream health, sampled at scrape time. */
  private readonly upstreamReaders = new Map<string, () => Record<string, UpstreamHealthUse>>();
  private readonly upstreamState = new Gauge({
    name: 'tracehouse_upstream_health',
    help: 'An LLM gateway upstream\'s health: 1 for its current state (healthy, degraded, open), 0 for the others.',
    labelNames: ['receiver', 'upstream', 'state'],
    registers: [this.registry],
    collect: () => this.sampleUpstreams(),
  });
  private readonly upstreamErrorRate = new Gauge({
    name: 'tracehouse_upstream_error_rate',
    help: 'Failed fraction of an LLM gateway upstream\'s calls in its rolling window.',
    labelNames: ['receiver', 'upstream'],
    registers: [this.registry],
  });
  private readonly upstreamP95 = new Gauge({
    name: 'tracehouse_upstream_p95_latency_seconds',
    help: 'p95 latency of an LLM gateway upstream\'s calls in its rolling window.',
    labelNames: ['receiver', 'upstream'],
    registers: [this.registry],
  });

  private sampleUpstreams(): void {
    for (const [receiver, read] of this.upstreamReaders) {
      for (const [upstream, health] of Object.entries(read())) {
        for (const state of ['healthy', 'degraded', 'open'] as const) {
          this.upstreamState.set({ receiver, upstream, state }, health.state === state ? 1 : 0);
        }
        this.upstreamErrorRate.set({ receiver, upstream }, health.errorRate);
        if (health.p95LatencyMs !== undefined) this.upstreamP95.set({ receiver, upstream }, health.p95LatencyMs / 1000);
      }
    }
  }

  forReceiver(id: string): ReceiverTelemetry {
    return {
      accepted: (spans) => this.receiverAccepted.inc({ receiver: id }, spans),
      refused: (spans, reason) => this.receiverRefused.inc({ receiver: id, reason }, spans),
      request: (outcome) => this.receiverRequests.inc({ receiver: id, outcome }),
      listener: (name) => this.forListener(name),
      watchInflight: (read) => void this.inflightReaders.set(id, read),
      watchUpstreams: (read) => void this.upstreamReaders.set(id, read),
    };
  }

  forProcessor(id: string): ProcessorTelemetry {
    return {
      dropped: (spans, reason) => this.dropped.inc({ processor: id, reason }, spans),
      event: (event, count, kind = '') => this.processorEvents.inc({ processor: id, event, kind }, count),
    };
  }

  forExporter(id: string): ExporterTelemetry {
    return {
      sent: (spans) => this.exporterSent.inc({ exporter: id }, spans),
      failed: (spans, reason) => this.exporterFailed.inc({ exporter: id, reason }, spans),
      batch: (spans, seconds) => {
        this.exportDuration.observe({ exporter: id }, seconds);
        this.exportBatchSpans.observe({ exporter: id }, spans);
      },
      queue: (size, capacity) => {
        this.queueSize.set({ exporter: id }, size);
        this.queueCapacity.set({ exporter: id }, capacity);
      },
    };
  }

  /** For one listener, named by kind and address, e.g. "http 127.0.0.1:4318" or "admin 127.0.0.1:8888". */
  forListener(listener: string): ListenerTelemetry {
    // Present from the start (at 0), so a scrape shows the listener before anything happened.
    this.listenerRefusedConnections.inc({ listener }, 0);
    this.listenerOpen.set({ listener }, 0);
    return {
      opened: () => this.listenerOpen.inc({ listener }),
      closed: () => this.listenerOpen.dec({ listener }),
      refusedConnection: () => this.listenerRefusedConnections.inc({ listener }),
      refusedRequest: (reason) => this.listenerRefusedRequests.inc({ listener, reason }),
    };
  }

  private sampleInflight(): void {
    for (const [receiver, read] of this.inflightReaders) {
      const use = read();
      this.receiverInflight.set({ receiver }, use.held);
      this.receiverReceiving.set({ receiver }, use.receiving);
    }
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export interface ReceiverTelemetry {
  accepted(spans: number): void;
  refused(spans: number, reason: string): void;
  request(outcome: string): void;
  /** Metrics of a listener the receiver owns itself (the OTLP/gRPC server); absent in test doubles. */
  listener?(name: string): ListenerTelemetry;
  /** Reports the receiver's in-flight bound at every scrape; absent in test doubles. */
  watchInflight?(read: () => InflightUse): void;
  /** Reports an LLM gateway's upstream health at every scrape; absent in test doubles. */
  watchUpstreams?(read: () => Record<string, UpstreamHealthUse>): void;
}

export interface UpstreamHealthUse {
  state: 'healthy' | 'degraded' | 'open';
  errorRate: number;
  p95LatencyMs?: number;
}

export interface InflightUse {
  held: number;
  receiving: number;
}

export interface ListenerTelemetry {
  opened(): void;
  closed(): void;
  /** A connection closed at once because the listener held max_connections. */
  refusedConnection(): void;
  /** A request refused before routing (foreign Host, cross-site). */
  refusedRequest(reason: string): void;
}

export interface ProcessorTelemetry {
  dropped(spans: number, reason: string): void;
  /**
   * Counts something the processor did, e.g. event('redaction', 3, 'email') or
   * event('unknown_model', 1). `kind` must come from a small fixed set (never user data).
   */
  event(event: string, count: number, kind?: string): void;
}

export interface ExporterTelemetry {
  sent(spans: number): void;
  failed(spans: number, reason: string): void;
  batch(spans: number, seconds: number): void;
  queue(size: number, capacity: number): void;
}
