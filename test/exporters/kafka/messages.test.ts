import { PermanentError } from '../../../core/errors';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../../core/otlp/decode';
import { buildMessages, produceCalls, type OutgoingMessage } from '../../../exporters/kafka/messages';
import { spanKeys, traceSpans } from './spans';

const proto = { encoding: 'otlp_proto' as const, partitionTracesById: true, maxMessageBytes: 1_000_000 };

/** Every span the messages carry, decoded back, with the message it came in. */
function decoded(messages: OutgoingMessage[], encoding: 'otlp_proto' | 'otlp_json' = 'otlp_proto') {
  return messages.map((m) => {
    const result = encoding === 'otlp_proto' ? decodeTraceRequestProto(m.value) : decodeTraceRequestJson(m.value);
    expect(result.rejected).toBe(0);
    return { key: m.key?.toString('utf8') ?? null, spans: result.spans, counted: m.spans, size: m.value.length };
  });
}

test('partitioned: one message per trace, keyed by the hex trace id, carrying exactly that trace', () => {
  const batch = traceSpans(3, 4);
  const out = decoded(buildMessages(batch, proto));
  expect(out).toHaveLength(3);
  for (const message of out) {
    expect(message.key).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(message.spans.map((s) => s.traceId))).toEqual(new Set([message.key]));
    expect(message.counted).toBe(message.spans.length);
    expect(spanKeys(message.spans)).toEqual(spanKeys(batch.filter((s) => s.traceId === message.key)));
  }
  expect(spanKeys(out.flatMap((m) => m.spans))).toEqual(spanKeys(batch));
  // The decoded spans keep their content, not only their ids.
  const first = out[0].spans.find((s) => s.parentSpanId === '');
  expect(first).toMatchObject({ name: 'agent run', kind: 'client', startTimeUnixNano: 1_700_000_000_000_000_000n });
  expect(first?.attributes['gen_ai.usage.input_tokens']).toBe(12n);
  expect(first?.resource.attributes['service.name']).toBe('kafka-exporter-test');
});

test('partitioned: a trace larger than max_message_bytes is split into messages with the same key', () => {
  const batch = [...traceSpans(1, 40, 200), ...traceSpans(1, 2)];
  const out = decoded(buildMessages(batch, { ...proto, maxMessageBytes: 2048 }));
  const bigTrace = batch[0].traceId;
  const pieces = out.filter((m) => m.key === bigTrace);
  expect(pieces.length).toBeGreaterThan(2);
  for (const message of out) expect(message.size).toBeLessThanOrEqual(2048);
  for (const piece of pieces) expect(new Set(piece.spans.map((s) => s.traceId))).toEqual(new Set([bigTrace]));
  expect(spanKeys(out.flatMap((m) => m.spans))).toEqual(spanKeys(batch));
  expect(out.filter((m) => m.key === batch[40].traceId)).toHaveLength(1);
});

test('not partitioned: a batch that fits is one unkeyed message', () => {
  const batch = traceSpans(5, 3);
  const messages = buildMessages(batch, { ...proto, partitionTracesById: false });
  expect(messages).toHaveLength(1);
  expect(messages[0].key).toBeNull();
  expect(spanKeys(decoded(messages)[0].spans)).toEqual(spanKeys(batch));
});

test('not partitioned: whole traces are packed into as few messages as fit', () => {
  const batch = traceSpans(30, 3, 100);
  const max = 4096;
  const out = decoded(buildMessages(batch, { ...proto, partitionTracesById: false, maxMessageBytes: max }));
  expect(out.length).toBeGreaterThan(1);
  // Several traces share a message, yet no trace is cut: each fits on its own.
  expect(out.some((m) => new Set(m.spans.map((s) => s.traceId)).size > 1)).toBe(true);
  const messagesPerTrace = new Map<string, Set<number>>();
  out.forEach((m, i) => {
    expect(m.key).toBeNull();
    expect(m.size).toBeLessThanOrEqual(max);
    for (const span of m.spans) messagesPerTrace.set(span.traceId, (messagesPerTrace.get(span.traceId) ?? new Set()).add(i));
  });
  for (const set of messagesPerTrace.values()) expect(set.size).toBe(1);
  expect(spanKeys(out.flatMap((m) => m.spans))).toEqual(spanKeys(batch));
  // Packed, not one message per trace.
  expect(out.length).toBeLessThan(15);
});

test('otlp_json: values are OTLP/JSON requests, split within the bound too', () => {
  const batch = traceSpans(2, 30, 150);
  const messages = buildMessages(batch, { ...proto, encoding: 'otlp_json', maxMessageBytes: 3000 });
  const out = decoded(messages, 'otlp_json');
  expect(out.length).toBeGreaterThan(2);
  for (const message of out) expect(message.size).toBeLessThanOrEqual(3000);
  expect(JSON.parse(messages[0].value.toString('utf8'))).toHaveProperty('resourceSpans');
  expect(spanKeys(out.flatMap((m) => m.spans))).toEqual(spanKeys(batch));
});

test('a single span larger than max_message_bytes is refused before anything is sent', () => {
  const batch = [...traceSpans(1, 1, 5000), ...traceSpans(1, 1)];
  let caught: unknown;
  try {
    buildMessages(batch, { ...proto, maxMessageBytes: 2048 });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PermanentError);
  expect(caught).toMatchObject({ code: 'EXP_KAFKA_MESSAGE_TOO_LARGE' });
  expect((caught as Error).message).toContain(batch[0].spanId);
  expect((caught as Error).message).not.toContain('ppppp');
});

test('produce calls stay within the byte budget and keep every message once, in order', () => {
  const messages = buildMessages(traceSpans(50, 2, 300), proto);
  const size = messages[0].value.length;
  const calls = produceCalls(messages, size * 10);
  expect(calls.length).toBeGreaterThan(4);
  for (const call of calls) {
    expect(call.reduce((sum, m) => sum + m.value.length + (m.key?.length ?? 0), 0)).toBeLessThanOrEqual(size * 10);
  }
  expect(calls.flat()).toEqual(messages);
  expect(produceCalls(messages, 1_000_000)).toHaveLength(1);
  // A message over the budget on its own still goes, alone.
  expect(produceCalls(messages.slice(0, 3), 10)).toEqual(messages.slice(0, 3).map((m) => [m]));
});
