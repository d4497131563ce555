import type { KafkaMessage } from 'kafkajs';
import type { SpanConsumer } from '../../core/component';
import { BackpressureError, TracehouseError, errorMessage, isPermanent } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { DecodedTraces } from '../../core/otlp/decode';
import type { SpanBatch } from '../../core/span';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { deadLetterTopicFor } from './config';
import type { KafkaReceiverConfig } from './config';
import type { DeadLetterReason, DeadLetterWriter, MessageSource } from './dead-letter';
import { decodeKafkaMessage } from './decode-message';

export interface BatchDeliveryContext {
  config: KafkaReceiverConfig;
  next: SpanConsumer;
  telemetry: ReceiverTelemetry;
  logger: Logger;
  deadLetter: DeadLetterWriter;
  /** Passed to consume; fires when shutdown gives up waiting for work in flight. */
  signal: AbortSignal;
  /** False once the receiver stops or the partition is no longer ours: start nothing new. */
  running(): boolean;
  /** Keeps the group membership alive during a long batch; rejects when the group rebalances. */
  heartbeat(): Promise<void>;
}

/** A retryable failure: the messages from the first one not done on must be delivered again. */
export interface RetryRequest {
  error: unknown;
  /** The wait the downstream asked for (a BackpressureError's Retry-After). */
  retryAfterMs?: number;
}

export interface BatchOutcome {
  /** Offset of the last message handled (delivered, dead-lettered or dropped); all before it are too. */
  lastDone: string | undefined;
  retry?: RetryRequest;
}

interface DecodedMessage {
  message: KafkaMessage;
  decoded: DecodedTraces;
}

/**
 * Delivers one fetched batch of one partition, in offset order, and says how far it got. Decodable
 * messages are handed to the pipeline together (up to max_batch_spans per call) for throughput;
 * undecodable ones, and ones the pipeline refuses as bad data, are dead-lettered. Delivery stops at
 * the first retryable failure so nothing after it is reported done. Never throws.
 */
export async function deliverBatch(
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
  ctx: BatchDeliveryContext,
): Promise<BatchOutcome> {
  let lastDone: string | undefined;
  let i = 0;
  while (i < messages.length) {
    if (!ctx.running()) return { lastDone };
    if (lastDone !== undefined) {
      // Between pipeline calls of a large batch: a rebalance stops us here, and what is done so
      // far is still committed by the caller.
      try {
        await ctx.heartbeat();
      } catch {
        return { lastDone };
      }
    }
    const run: DecodedMessage[] = [];
    let spanCount = 0;
    let undecodable: { message: KafkaMessage; error: unknown } | undefined;
    while (i < messages.length) {
      const message = messages[i];
      let decoded: DecodedTraces;
      try {
        decoded = decodeKafkaMessage(message, ctx.config.encoding);
      } catch (error) {
        // Deliver what came before it first, so the dead-lettered message is committed in order.
        if (run.length === 0) {
          undecodable = { message, error };
          i += 1;
        }
        break;
      }
      if (run.length > 0 && spanCount + decoded.spans.length > ctx.config.max_batch_spans) break;
      run.push({ message, decoded });
      spanCount += decoded.spans.length;
      i += 1;
    }
    if (undecodable) {
      const retry = await park(topic, partition, undecodable.message, reasonOf(undecodable.error, 'RCV_DECODE'), 1, ctx);
      if (retry) return { lastDone, retry };
      lastDone = undecodable.message.offset;
      continue;
    }
    const result = await deliverRun(topic, partition, run, ctx);
    if (result.lastDone !== undefined) lastDone = result.lastDone;
    if (result.retry) return { lastDone, retry: result.retry };
  }
  return { lastDone };
}

/** Delivers consecutive decoded messages; on a bad-data refusal finds the bad ones one by one. */
async function deliverRun(topic: string, partition: number, run: DecodedMessage[], ctx: BatchDeliveryContext): Promise<BatchOutcome> {
  const last = run[run.length - 1].message.offset;
  const spans: SpanBatch = run.length === 1 ? run[0].decoded.spans : run.flatMap((m) => m.decoded.spans);
  const error = await consume(spans, ctx);
  if (error === undefined) {
    countDelivered(run, ctx);
    return { lastDone: last };
  }
  if (!isPermanent(error)) return { lastDone: undefined, retry: retryRequest(error) };
  if (run.length === 1) {
    const retry = await park(topic, partition, run[0].message, reasonOf(error, 'RCV_KAFKA_REJECTED'), spans.length, ctx);
    return retry ? { lastDone: undefined, retry } : { lastDone: last };
  }
  // One call refused bad data: retry each message alone so only the bad ones are dead-lettered.
  let lastDone: string | undefined;
  for (const single of run) {
    if (!ctx.running()) return { lastDone };
    const outcome = await deliverRun(topic, partition, [single], ctx);
    if (outcome.retry) return { lastDone, retry: outcome.retry };
    lastDone = outcome.lastDone;
  }
  return { lastDone };
}

/** The pipeline's verdict: undefined when every exporter has the spans durably. */
async function consume(spans: SpanBatch, ctx: BatchDeliveryContext): Promise<unknown> {
  if (spans.length === 0) return undefined;
  try {
    await ctx.next.consume(spans, ctx.signal);
    return undefined;
  } catch (err) {
    return err ?? new Error('consume rejected without a reason');
  }
}

function countDelivered(run: DecodedMessage[], ctx: BatchDeliveryContext): void {
  let spans = 0;
  let rejected = 0;
  for (const { decoded } of run) {
    spans += decoded.spans.length;
    rejected += decoded.rejected;
  }
  if (spans > 0) ctx.telemetry.accepted(spans);
  // Invalid spans (bad ids, end before start) are dropped as the OTLP receiver drops them; the rest
  // of their message is delivered.
  if (rejected > 0) ctx.telemetry.refused(rejected, 'invalid_span');
  ctx.telemetry.request('delivered');
}

/**
 * Dead-letters a message that can never be delivered (or drops it with `dead_letter_topic: none`).
 * Returns a RetryRequest when the dead-letter write failed: the message is not done then.
 * Logs codes and positions only: decode errors can quote the payload.
 */
async function park(
  topic: string,
  partition: number,
  message: KafkaMessage,
  reason: DeadLetterReason,
  spans: number,
  ctx: BatchDeliveryContext,
): Promise<RetryRequest | undefined> {
  const source: MessageSource = { topic, partition, offset: message.offset };
  const deadLetterTopic = deadLetterTopicFor(ctx.config, topic);
  if (deadLetterTopic === undefined) {
    ctx.telemetry.refused(spans, 'dropped');
    ctx.telemetry.request('dropped');
    ctx.logger.warn({ code: 'RCV_KAFKA_DROPPED', reason: reason.code, ...source }, 'message can never be delivered; dropped (dead_letter_topic: none)');
    return undefined;
  }
  try {
    await ctx.deadLetter.send(deadLetterTopic, message, source, reason);
  } catch (err) {
    return { error: err };
  }
  ctx.telemetry.refused(spans, 'dead_letter');
  ctx.telemetry.request('dead_letter');
  ctx.logger.warn(
    { code: 'RCV_KAFKA_DEAD_LETTER', reason: reason.code, dead_letter_topic: deadLetterTopic, ...source },
    'message can never be delivered; written to the dead-letter topic',
  );
  return undefined;
}

function reasonOf(err: unknown, fallbackCode: string): DeadLetterReason {
  return { code: err instanceof TracehouseError ? err.code : fallbackCode, message: errorMessage(err) };
}

function retryRequest(error: unknown): RetryRequest {
  return error instanceof BackpressureError ? { error, retryAfterMs: error.retryAfterSeconds * 1000 } : { error };
}
