/**
 * The gateway's span queue on its own, with a consumer the test controls: batching, retries,
 * counted drops, and draining at shutdown.
 */
import type { SpanConsumer } from '../../../core/component';
import { PermanentError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import { makeSpan, type Span, type SpanBatch } from '../../../core/span';
import type { ReceiverTelemetry } from '../../../core/telemetry';
import { SpanQueue } from '../../../receivers/proxy/span-queue';
import { waitFor } from '../../support/wait';

let counter = 0;
function spans(n: number): Span[] {
  return Array.from({ length: n }, () => {
    counter += 1;
    return makeSpan({ traceId: counter.toString(16).padStart(32, '0'), spanId: counter.toString(16).padStart(16, '0'), name: 'chat' });
  });
}

function recordingTelemetry(): ReceiverTelemetry & { accepted_: number; refused_: Record<string, number> } {
  const t = {
    accepted_: 0,
    refused_: {} as Record<string, number>,
    accepted: (n: number) => void (t.accepted_ += n),
    refused: (n: number, reason: string) => void (t.refused_[reason] = (t.refused_[reason] ?? 0) + n),
    request: () => undefined,
  };
  return t;
}

/** A consumer whose answers the test scripts: each call takes the next outcome (default: accept). */
function scriptedConsumer(outcomes: ('ok' | 'retryable' | 'permanent' | 'hang')[] = []): SpanConsumer & { batches: SpanBatch[] } {
  const batches: SpanBatch[] = [];
  return {
    batches,
    consume: (batch, signal) => {
      const outcome = outcomes.shift() ?? 'ok';
      if (outcome === 'hang') {
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      if (outcome === 'retryable') return Promise.reject(new Error('storage is down'));
      if (outcome === 'permanent') return Promise.reject(new PermanentError('EXP_TEST', 'refused'));
      batches.push(batch);
      return Promise.resolve();
    },
  };
}

test('calls queued while a delivery is in flight go to the pipeline together as one batch', async () => {
  const consumer = scriptedConsumer();
  const telemetry = recordingTelemetry();
  const queue = new SpanQueue(consumer, { maxSpans: 100, retryMaxElapsedMs: 1000, lingerMs: 0 }, telemetry, silentLogger());
  queue.push(spans(2));
  queue.push(spans(3));
  queue.push(spans(1));
  await waitFor('all delivered', () => (telemetry.accepted_ === 6 ? true : undefined));
  // The first push starts a delivery at once; the two pushed behind it share the next one.
  expect(consumer.batches.map((b) => b.length)).toEqual([2, 4]);
  expect(queue.size).toBe(0);
});

test('calls queued within the linger share one batch; a full batch or a drain does not wait for it', async () => {
  const consumer = scriptedConsumer();
  const telemetry = recordingTelemetry();
  const lingering = new SpanQueue(consumer, { maxSpans: 10_000, retryMaxElapsedMs: 1000, lingerMs: 200 }, telemetry, silentLogger());
  lingering.push(spans(2));
  await new Promise((resolve) => setTimeout(resolve, 20));
  lingering.push(spans(3));
  await waitFor('linger batch delivered', () => (telemetry.accepted_ === 5 ? true : undefined));
  expect(consumer.batches.map((b) => b.length)).toEqual([5]);

  // With an hour's linger, only a full batch (2,000 spans) or a drain can send anything.
  const patient = new SpanQueue(consumer, { maxSpans: 10_000, retryMaxElapsedMs: 1000, lingerMs: 3_600_000 }, telemetry, silentLogger());
  patient.push(spans(1_999));
  patient.push(spans(1));
  await waitFor('full batch delivered', () => (telemetry.accepted_ === 2_005 ? true : undefined));
  patient.push(spans(7));
  await patient.drain(10_000);
  expect(consumer.batches.map((b) => b.length)).toEqual([5, 2_000, 7]);
  expect(telemetry.refused_).toEqual({});
});

test('a retryable failure is retried until delivered; a permanent one is counted as undeliverable', async () => {
  const consumer = scriptedConsumer(['retryable', 'retryable', 'ok', 'permanent']);
  const telemetry = recordingTelemetry();
  const queue = new SpanQueue(consumer, { maxSpans: 100, retryMaxElapsedMs: 10_000, initialRetryMs: 1, maxRetryMs: 2, lingerMs: 0 }, telemetry, silentLogger());
  queue.push(spans(2));
  await waitFor('delivered after retries', () => (telemetry.accepted_ === 2 ? true : undefined));
  queue.push(spans(3));
  await waitFor('refused', () => (telemetry.refused_.undeliverable === 3 ? true : undefined));
  expect(consumer.batches.map((b) => b.length)).toEqual([2]);
  expect(queue.size).toBe(0);
});

test('spans beyond max_spans are refused and counted, never silently lost', async () => {
  const consumer = scriptedConsumer(['hang']);
  const telemetry = recordingTelemetry();
  const queue = new SpanQueue(consumer, { maxSpans: 5, retryMaxElapsedMs: 1000, lingerMs: 0 }, telemetry, silentLogger());
  queue.push(spans(4));
  queue.push(spans(2));
  expect(telemetry.refused_.span_queue_full).toBe(2);
  expect(queue.size).toBe(4);
  await queue.drain(10);
  // The hanging delivery is abandoned at the drain deadline: its spans are counted too.
  expect(telemetry.refused_.undeliverable).toBe(4);
  expect(queue.size).toBe(0);
});

test('drain delivers what is queued before shutdown', async () => {
  const consumer = scriptedConsumer(['retryable']);
  const telemetry = recordingTelemetry();
  const queue = new SpanQueue(consumer, { maxSpans: 100, retryMaxElapsedMs: 10_000, initialRetryMs: 1, maxRetryMs: 2, lingerMs: 0 }, telemetry, silentLogger());
  queue.push(spans(3));
  queue.push(spans(2));
  await queue.drain(10_000);
  expect(telemetry.accepted_).toBe(5);
  expect(telemetry.refused_).toEqual({});
});
