import type { KafkaMessage } from 'kafkajs';
import { handOn, type SpanConsumer } from '../../core/component';
import { BackpressureError, TracehouseError, errorMessage, isPermanent } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { DecodedTraces } from '../../core/otlp/decode';
import type { Span, SpanBatch } from '../../core/span';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { deadLetterTopicFor } from './config';
import type { KafkaReceiverConfig } from './config';
import type { DeadLetterReason, DeadLetterWriter, MessageSource } from './dead-letter';
import { decodeKafkaMessage } from './decode-message';

export interface BatchDeliveryContext {
  config: KafkaReceiverConfig;
  /** tracehouse.source of spans from messages not trusted to carry the daemon's attributes. */
  receiverId: string;
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

/** A message of a run, by its counts: its spans are handed on when the run starts, not kept. */
interface RunMessage {
  message: KafkaMessage;
  spans: number;
  rejected: number;
}

/** Consecutive decodable messages handed to the pipeline as one call, or the undecodable message that stops a run. */
type Run =
  | { messages: RunMessage[]; end: number; delivery: Promise<unknown> }
  | { messages: []; end: number; undecodable: { message: KafkaMessage; error: unknown } };

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
    const run = startRun(messages, i, ctx);
    i = run.end;
    if ('undecodable' in run) {
      const retry = await park(topic, partition, run.undecodable.message, reasonOf(run.undecodable.error, 'RCV_DECODE'), 1, ctx);
      if (retry) return { lastDone, retry };
      lastDone = run.undecodable.message.offset;
      continue;
    }
    const result = await deliverRun(topic, partition, run.messages, run.delivery, ctx);
    if (result.lastDone !== undefined) lastDone = result.lastDone;
    if (result.retry) return { lastDone, retry: result.retry };
  }
  return { lastDone };
}

/**
 * Decodes messages from `start` until max_batch_spans or an undecodable one (which, first in line,
 * is a run of its own: what came before it is delivered first, so it is committed in order), and
 * hands the run's spans on. A plain function: no frame that waits for the insert holds the spans.
 */
function startRun(messages: readonly KafkaMessage[], start: number, ctx: BatchDeliveryContext): Run {
  const run: RunMessage[] = [];
  const spans: Span[] = [];
  let i = start;
  for (; i < messages.length; i++) {
    const message = messages[i];
    let decoded: DecodedTraces;
    try {
      decoded = decodeKafkaMessage(message, ctx.config, ctx.receiverId);
    } catch (error) {
      if (run.length === 0) return { messages: [], end: i + 1, undecodable: { message, error } };
      break;
    }
    if (run.length > 0 && spans.length + decoded.spans.length > ctx.config.max_batch_spans) break;
    run.push({ message, spans: decoded.spans.length, rejected: decoded.rejected });
    for (const span of decoded.spans) spans.push(span);
  }
  return { messages: run, end: i, delivery: consume(spans, ctx) };
}

/** Settles a started run; on a bad-data refusal finds the bad messages one by one. */
async function deliverRun(topic: string, partition: number, run: RunMessage[], delivery: Promise<unknown>, ctx: BatchDeliveryContext): Promise<BatchOutcome> {
  const last = run[run.length - 1].message.offset;
  const error = await delivery;
  if (error === undefined) {
    countDelivered(run, ctx);
    return { lastDone: last };
  }
  if (!isPermanent(error)) return { lastDone: undefined, retry: retryRequest(error) };
  if (run.length === 1) {
    const retry = await park(topic, partition, run[0].message, reasonOf(error, 'RCV_KAFKA_REJECTED'), run[0].spans, ctx);
    return retry ? { lastDone: undefined, retry } : { lastDone: last };
  }
  // One call refused bad data: each message again alone (decoded again from its bytes), so only
  // the bad ones are dead-lettered.
  let lastDone: string | undefined;
  for (const single of run) {
    if (!ctx.running()) return { lastDone };
    const again = startRun([single.message], 0, ctx);
    const outcome =
      'undecodable' in again
        ? { lastDone: single.message.offset, retry: await park(topic, partition, single.message, reasonOf(again.undecodable.error, 'RCV_DECODE'), 1, ctx) }
        : await deliverRun(topic, partition, again.messages, again.delivery, ctx);
    if (outcome.retry) return { lastDone, retry: outcome.retry };
    lastDone = outcome.lastDone;
  }
  return { lastDone };
}

/** The pipeline's verdict: undefined when every exporter has the spans durably. */
function consume(spans: SpanBatch, ctx: BatchDeliveryContext): Promise<unknown> {
  if (spans.length === 0) return Promise.resolve(undefined);
  return handOn(ctx.next, spans, ctx.signal).then(
    () => undefined,
    (err: unknown) => err ?? new Error('consume rejected without a reason'),
  );
}

function countDelivered(run: RunMessage[], ctx: BatchDeliveryContext): void {
  let spans = 0;
  let rejected = 0;
  for (const message of run) {
    spans += message.spans;
    rejected += message.rejected;
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
