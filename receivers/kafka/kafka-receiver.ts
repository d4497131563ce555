import { Kafka } from 'kafkajs';
import type { Consumer, ConsumerCrashEvent, EachBatchPayload } from 'kafkajs';
import type { ComponentSettings, Host, Receiver, SpanConsumer } from '../../core/component';
import { ShuttingDownError, errorMessage } from '../../core/errors';
import { kafkaClientConfig } from '../../core/kafka/client-config';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { backoffDelayMs, settlesWithin, sleep } from './backoff';
import { deliverBatch } from './batch-delivery';
import type { RetryRequest } from './batch-delivery';
import type { KafkaReceiverConfig } from './config';
import { DeadLetterWriter } from './dead-letter';

/** How long shutdown lets batches in flight finish (and commit) before abandoning them uncommitted. */
const SHUTDOWN_DRAIN_MS = 10_000;
/** Bound for leaving the group and closing connections at shutdown (a dead broker must not hang it). */
const DISCONNECT_TIMEOUT_MS = 10_000;
/** Waits between attempts to reach the brokers at start (and after a crash kafkajs gives up on). */
const CONNECT_BACKOFF = { initial_backoff_ms: 1_000, max_backoff_ms: 30_000 };

/** kafkajs retries of one request, connect or join, before the failure reaches the receiver. */
const KAFKAJS_RETRY = { initialRetryTime: 300, retries: 3 };

interface PartitionRetry {
  attempt: number;
  timer?: NodeJS.Timeout;
}

/**
 * Consumes OTLP export requests from Kafka topics as a consumer group and hands their spans to the
 * pipeline with at-least-once delivery: an offset is committed only once the pipeline resolved for
 * that message and every one before it on the partition.
 *
 * A retryable refusal pauses the partition and lets kafkajs fetch the same messages again after a
 * backoff (the fetch position stays at the first message not done), so the group keeps
 * heartbeating and rebalancing normally while the downstream is away, and other partitions go on.
 */
export class KafkaReceiver implements Receiver {
  /** Fires when shutdown stops waiting for batches in flight; their consume calls are abandoned. */
  private readonly abandon = new AbortController();
  /** Fires at shutdown: ends connect retries and backoff waits. */
  private readonly stopped = new AbortController();
  private kafka: Kafka | undefined;
  private deadLetter: DeadLetterWriter | undefined;
  private consumer: Consumer | undefined;
  private joining: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly retries = new Map<string, PartitionRetry>();
  private stopping = false;
  /** Crashes kafkajs did not recover from since the last batch delivered, for the rebuild backoff. */
  private crashes = 0;
  private stoppingPromise: Promise<void> | undefined;

  constructor(
    private readonly config: KafkaReceiverConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    private readonly next: SpanConsumer,
  ) {}

  /** Returns at once: the group is joined in the background, retrying while the brokers are away. */
  async start(_host: Host): Promise<void> {
    if (this.stopping || this.kafka) return;
    // Throws on unreadable TLS files: a deployment mistake that should stop the daemon from starting.
    // kafkajs's own retries stay short: the receiver's loops own the long waits (and can stop them).
    this.kafka = new Kafka(kafkaClientConfig(this.config, this.settings.logger, { retry: KAFKAJS_RETRY }));
    this.deadLetter = new DeadLetterWriter(this.kafka, this.settings.logger);
    this.runInBackground();
  }

  shutdown(): Promise<void> {
    this.stoppingPromise ??= this.stop();
    return this.stoppingPromise;
  }

  private runInBackground(delayMs = 0): void {
    this.joining = this.joinGroup(delayMs).catch((err: unknown) => {
      this.settings.logger.error({ code: 'RCV_KAFKA_CONSUMER', err: errorMessage(err) }, 'kafka consumer loop failed');
    });
  }

  /** Connects, subscribes and starts consuming; retries with backoff until it works or shutdown. */
  private async joinGroup(delayMs: number): Promise<void> {
    const kafka = this.kafka;
    if (!kafka) return;
    if (delayMs > 0) await sleep(delayMs, this.stopped.signal);
    for (let attempt = 0; !this.stopping; attempt++) {
      const consumer = kafka.consumer({
        groupId: this.config.group_id,
        sessionTimeout: this.config.session_timeout_ms,
        heartbeatInterval: this.config.heartbeat_interval_ms,
        maxWaitTimeInMs: this.config.max_fetch_wait_ms,
        maxBytesPerPartition: this.config.max_partition_fetch_bytes,
      });
      this.consumer = consumer;
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: this.config.topics, fromBeginning: this.config.initial_offset === 'earliest' });
        if (this.stopping) {
          // Shutdown ran while we were connecting and may have missed this consumer.
          await consumer.disconnect().catch(() => undefined);
          return;
        }
        consumer.on(consumer.events.CRASH, (event) => this.onCrash(consumer, event));
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // Partitions are handed to the pipeline concurrently (each still in order), so the
          // exporters can group their spans into larger writes.
          partitionsConsumedConcurrently: this.config.max_concurrent_partitions,
          eachBatch: (payload) => this.track(this.handleBatch(consumer, payload)),
        });
        if (this.stopping) {
          // kafkajs ignores a disconnect that comes while run() is still joining the group and
          // then starts fetching anyway: stop it again now that it runs.
          await consumer.disconnect().catch(() => undefined);
          return;
        }
        // A crash while joining (reported during run) has already started the next attempt.
        if (this.consumer === consumer) {
          this.settings.logger.info({ topics: this.config.topics, group_id: this.config.group_id }, 'kafka consumer started');
        }
        return;
      } catch (err) {
        const delay = backoffDelayMs(attempt, CONNECT_BACKOFF);
        this.settings.logger.warn(
          { code: 'RCV_KAFKA_CONNECT', err: errorMessage(err), brokers: this.config.brokers, retry_in_ms: delay },
          'cannot join the consumer group; retrying',
        );
        await consumer.disconnect().catch(() => undefined);
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  /**
   * kafkajs restarts a crashed consumer by itself when the cause is retriable; otherwise the
   * consumer stays down, so a new one is built (the receiver must outlive any broker trouble).
   */
  private onCrash(consumer: Consumer, event: ConsumerCrashEvent): void {
    const { error, restart } = event.payload;
    this.settings.logger.warn({ code: 'RCV_KAFKA_CRASH', err: errorMessage(error), restart }, 'kafka consumer crashed');
    if (restart || this.stopping || this.consumer !== consumer) return;
    this.consumer = undefined;
    // A cause that repeats (e.g. an ACL refusing the group) must not spin: back off until a batch
    // gets through again.
    this.runInBackground(backoffDelayMs(this.crashes, CONNECT_BACKOFF));
    this.crashes += 1;
  }

  private track(work: Promise<void>): Promise<void> {
    this.inflight.add(work);
    const forget = () => this.inflight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async handleBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, pause, resolveOffset } = payload;
    const { topic, partition } = batch;
    const running = () => !this.stopping && isRunning() && !isStale();
    // A batch fetched before shutdown began is left alone: it is neither delivered nor committed.
    if (!running() || !this.deadLetter) return;
    const outcome = await deliverBatch(topic, partition, batch.messages, {
      config: this.config,
      receiverId: this.settings.id,
      next: this.next,
      telemetry: this.settings.telemetry,
      logger: this.settings.logger,
      deadLetter: this.deadLetter,
      signal: this.abandon.signal,
      running,
      heartbeat,
    });
    if (outcome.lastDone !== undefined) {
      this.crashes = 0;
      // The fetch position moves past what is done; the commit makes it survive restarts and
      // rebalances. Nothing after the first message not done is resolved, so it is fetched again.
      resolveOffset(outcome.lastDone);
      const offset = (BigInt(outcome.lastDone) + 1n).toString();
      try {
        await consumer.commitOffsets([{ topic, partition, offset }]);
      } catch (err) {
        // Typically a rebalance: the partition's next owner starts from the last commit.
        this.settings.logger.warn({ code: 'RCV_KAFKA_COMMIT', err: errorMessage(err), topic, partition, offset }, 'offset commit failed');
        throw groupMembershipError(err) ?? err;
      }
    }
    const key = `${topic}/${partition}`;
    if (outcome.retry) {
      if (!this.stopping) this.retryLater(key, topic, partition, outcome.retry, pause);
    } else if (outcome.lastDone !== undefined && this.retries.delete(key)) {
      this.settings.logger.info({ topic, partition }, 'pipeline accepts again; partition resumed');
    }
    await heartbeat();
  }

  /** Pauses the partition and resumes it after a backoff: kafkajs then fetches the same messages again. */
  private retryLater(key: string, topic: string, partition: number, retry: RetryRequest, pause: () => () => void): void {
    const state = this.retries.get(key) ?? { attempt: 0 };
    const delay = backoffDelayMs(state.attempt, this.config.retry, retry.retryAfterMs);
    state.attempt += 1;
    const resume = pause();
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      try {
        resume();
      } catch {
        // The consumer restarted meanwhile; its new fetch position is the last commit anyway.
      }
    }, delay);
    this.retries.set(key, state);
    this.settings.telemetry.request('retry');
    this.settings.logger.warn(
      { code: 'RCV_KAFKA_RETRY', err: errorMessage(retry.error), topic, partition, attempt: state.attempt, retry_in_ms: delay },
      'delivery failed retryably; partition paused, nothing committed past the failed message',
    );
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    for (const state of this.retries.values()) clearTimeout(state.timer);
    this.retries.clear();
    // Batches in flight may finish and commit what they delivered; past the bound they are
    // abandoned without a commit, and their messages are delivered again after a restart.
    if (!(await settlesWithin(Promise.allSettled([...this.inflight]), SHUTDOWN_DRAIN_MS))) {
      this.settings.logger.warn({ timeout_ms: SHUTDOWN_DRAIN_MS }, 'batches still in flight at shutdown are abandoned uncommitted');
      this.abandon.abort(new ShuttingDownError(this.settings.id));
    }
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer && !(await settlesWithin(consumer.disconnect(), DISCONNECT_TIMEOUT_MS))) {
      this.settings.logger.warn({ timeout_ms: DISCONNECT_TIMEOUT_MS }, 'kafka consumer did not disconnect in time');
    }
    // A join still connecting sees `stopping` and disconnects by itself once kafkajs's short
    // connect retries end; waiting (bounded) for it leaves no sockets or timers behind.
    await settlesWithin(this.joining ?? Promise.resolve(), DISCONNECT_TIMEOUT_MS);
    await this.deadLetter?.shutdown();
  }
}

/** kafkajs protocol error types after which the member must rejoin its group. */
const REJOIN_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'NOT_COORDINATOR_FOR_GROUP', 'UNKNOWN_MEMBER_ID']);

/**
 * kafkajs wraps a commit's protocol error in a KafkaJSNonRetriableError without its `type`, and
 * a consumer that throws that from eachBatch crashes (and leaves the group) instead of rejoining.
 * Throwing the protocol error itself makes kafkajs rejoin with the same member, as it does when a
 * heartbeat reports the rebalance.
 */
function groupMembershipError(err: unknown): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as Error & { type?: unknown }).type;
    if (typeof type === 'string' && REJOIN_ERRORS.has(type)) return e;
  }
  return undefined;
}
