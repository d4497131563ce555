import { CompressionTypes, Kafka, Partitioners, type Producer, type RetryOptions } from 'kafkajs';
import type { ComponentSettings, Exporter } from '../../core/component';
import { PermanentError, ShuttingDownError, TracehouseError, errorMessage } from '../../core/errors';
import { kafkaClientConfig } from '../../core/kafka/client-config';
import { originHeaders } from '../../core/kafka/message-origin';
import type { SpanBatch } from '../../core/span';
import type { ExporterTelemetry } from '../../core/telemetry';
import type { KafkaExporterConfig } from './config';
import { classifyKafkaError } from './kafka-errors';
import { CONTENT_TYPES, buildMessages, produceCalls, type OutgoingMessage } from './messages';

/**
 * Backoff between kafkajs retries. Fixed rather than configurable: timeout_ms bounds a consume
 * anyway, and short waits let a broker that comes back be used within one client request.
 */
const INITIAL_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;
/** A connection attempt never waits longer than this, so several fit in one timeout_ms. */
const MAX_CONNECTION_TIMEOUT_MS = 3_000;

/**
 * Writes spans to a Kafka topic as OTLP ExportTraceServiceRequest messages. `consume` resolves
 * only once the broker acknowledged every message of the batch (acks=all by default).
 */
export class KafkaExporter implements Exporter {
  private producer: Producer | undefined;
  private connected = false;
  private connecting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly telemetry: ExporterTelemetry;
  /** Whether the last send failed retryably: outages are logged when they begin and end, not per call. */
  private failing = false;

  constructor(
    private readonly config: KafkaExporterConfig,
    private readonly settings: ComponentSettings<ExporterTelemetry>,
  ) {
    this.telemetry = settings.telemetry;
  }

  async start(): Promise<void> {
    if (this.stopping || this.producer) return;
    const retry: RetryOptions = {
      retries: this.config.max_retries,
      initialRetryTime: INITIAL_RETRY_MS,
      maxRetryTime: MAX_RETRY_MS,
      factor: 0.2,
      multiplier: 2,
    };
    // Reading TLS files can fail here: a deployment mistake, so start fails rather than retrying.
    const kafka = new Kafka(
      kafkaClientConfig(this.config, this.settings.logger, {
        retry,
        requestTimeout: this.config.timeout_ms,
        connectionTimeout: Math.min(this.config.timeout_ms, MAX_CONNECTION_TIMEOUT_MS),
      }),
    );
    this.producer = kafka.producer({
      // The Java client's murmur2 partitioner, so a key maps to the partition other clients choose.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      retry,
    });
    // The broker may be down or still booting: connect in the background; consume connects again.
    this.connect().catch((err: unknown) => {
      this.settings.logger.warn(
        { err: errorMessage(err), brokers: this.config.brokers },
        'kafka brokers not reachable yet; sends will connect on demand',
      );
    });
    this.settings.logger.info(
      { brokers: this.config.brokers, topic: this.config.topic, encoding: this.config.encoding, acks: this.config.acks },
      'kafka exporter started',
    );
  }

  /** One connection attempt at a time, shared by everyone waiting for it. */
  private connect(): Promise<void> {
    const producer = this.producer;
    if (this.connected || !producer) return Promise.resolve();
    this.connecting ??= producer
      .connect()
      .then(() => {
        this.connected = true;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  consume(batch: SpanBatch, signal: AbortSignal): Promise<void> {
    if (this.stopping) return Promise.reject(new ShuttingDownError(this.settings.id));
    if (!this.producer) {
      return Promise.reject(new TracehouseError('EXP_NOT_STARTED', `${this.settings.id} has not started`));
    }
    if (batch.length === 0) return Promise.resolve();
    let messages: OutgoingMessage[];
    try {
      messages = buildMessages(batch, {
        encoding: this.config.encoding,
        partitionTracesById: this.config.partition_traces_by_id,
        maxMessageBytes: this.config.max_message_bytes,
      });
    } catch (err) {
      this.telemetry.failed(batch.length, 'too_large');
      return Promise.reject(err);
    }
    const delivery = this.deliver(messages, batch.length, signal);
    this.inFlight.add(delivery);
    const forget = () => void this.inFlight.delete(delivery);
    delivery.then(forget, forget);
    return delivery;
  }

  private async deliver(messages: OutgoingMessage[], spans: number, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      await this.withinDeadline(this.send(messages), signal);
      this.telemetry.sent(spans);
      if (this.failing) {
        this.failing = false;
        this.settings.logger.info({ topic: this.config.topic }, 'kafka brokers acknowledge again');
      }
    } catch (err) {
      const failure = err instanceof TracehouseError ? err : classifyKafkaError(err, this.config.topic);
      if (failure.code === 'EXP_ABORTED') {
        this.telemetry.failed(spans, 'aborted');
      } else if (failure instanceof PermanentError) {
        this.telemetry.failed(spans, 'rejected');
        this.settings.logger.warn({ err: failure.message, code: failure.code, spans }, 'kafka refused spans');
      } else {
        this.telemetry.failed(spans, 'unavailable');
        if (!this.failing) {
          this.failing = true;
          this.settings.logger.warn({ err: failure.message, code: failure.code, spans }, 'kafka send failed; asking for retries');
        }
      }
      throw failure;
    } finally {
      this.telemetry.batch(spans, (performance.now() - started) / 1000);
    }
  }

  /** Connects when needed, then produces every message; resolves once all are acknowledged. */
  private async send(messages: OutgoingMessage[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new ShuttingDownError(this.settings.id);
    try {
      await this.connect();
    } catch (err) {
      throw new TracehouseError(
        'EXP_KAFKA_UNAVAILABLE',
        `cannot connect to kafka brokers ${this.config.brokers.join(',')}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const acks = this.config.acks === 'all' ? -1 : 1;
    const compression = this.config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    const contentType = CONTENT_TYPES[this.config.encoding];
    const calls = produceCalls(messages, this.config.max_message_bytes);
    await Promise.all(
      calls.map((call) =>
        producer.send({
          topic: this.config.topic,
          acks,
          compression,
          // How long the leader waits for the in-sync replicas before answering.
          timeout: this.config.timeout_ms,
          messages: call.map((m) => ({
            key: m.key,
            value: m.value,
            headers: { 'content-type': contentType, ...originHeaders(m.value, this.config.signing_key) },
          })),
        }),
      ),
    );
  }

  /**
   * kafkajs retries within its own bounds and cannot be cancelled, so the caller is answered at
   * timeout_ms or when its signal fires, whichever is first. A send that later succeeds anyway
   * only means the caller's retry writes the spans twice, which at-least-once delivery allows.
   */
  private withinDeadline(send: Promise<void>, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(new TracehouseError('EXP_ABORTED', `${this.settings.id}: the caller gave up before kafka acknowledged`));
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new TracehouseError(
            'EXP_KAFKA_UNAVAILABLE',
            `kafka did not acknowledge within timeout_ms (${this.config.timeout_ms} ms)`,
          ),
        );
      }, this.config.timeout_ms);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      send.then(
        () => {
          done();
          resolve();
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    const producer = this.producer;
    // In-flight calls end within timeout_ms; their callers get an answer before the client goes.
    await Promise.allSettled([...this.inFlight]);
    if (!producer) return;
    const connecting = this.connecting;
    if (connecting) {
      // A broker that accepts connections but never answers holds a connect for several request
      // timeouts; wait one, then disconnect anyway, and once more should the connect still succeed.
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.config.timeout_ms);
      });
      const settled = await Promise.race([connecting.then(() => true, () => true), waited.then(() => false)]);
      clearTimeout(timer);
      if (!settled) connecting.then(() => producer.disconnect()).catch(() => undefined);
    }
    try {
      await producer.disconnect();
    } catch (err) {
      this.settings.logger.warn({ err: errorMessage(err) }, 'kafka producer did not disconnect cleanly');
    }
    this.connected = false;
  }
}
