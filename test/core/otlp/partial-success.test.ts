/** Invalid spans are rejected one by one; only an unreadable request fails as a whole. */
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../../core/otlp/decode';
import { PermanentError } from '../../../core/errors';
import { SPAN_ID, TRACE_ID, hexBytes, jsonRequest, nanos, protoRequest, spanMsg } from './otlp-fixtures';

function expectDecodeError(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PermanentError);
  expect((caught as PermanentError).code).toBe('RCV_DECODE');
  expect((caught as PermanentError).message).toMatch(message);
}

describe('per-span validation (partial success)', () => {
  it('keeps valid spans and rejects each invalid one with a deduplicated reason', () => {
    const bytes = protoRequest([
      spanMsg({ name: 'ok-1' }),
      spanMsg({ name: 'zero-trace', traceId: new Uint8Array(16) }),
      spanMsg({ name: 'ok-2', parentSpanId: new Uint8Array(8) }),
      spanMsg({ name: 'short-span-id', spanId: hexBytes('01020304050607') }),
      spanMsg({ name: 'backwards', startTimeUnixNano: nanos(2000n), endTimeUnixNano: nanos(1000n) }),
      spanMsg({ name: 'ok-3', startTimeUnixNano: nanos(5n), endTimeUnixNano: nanos(5n) }),
      spanMsg({ name: 'zero-trace-again', traceId: new Uint8Array(16) }),
    ]);
    const decoded = decodeTraceRequestProto(bytes);
    expect(decoded.spans.map((s) => s.name)).toEqual(['ok-1', 'ok-2', 'ok-3']);
    // An all-zero parent means "no parent".
    expect(decoded.spans[1].parentSpanId).toBe('');
    expect(decoded.rejected).toBe(4);
    expect(decoded.rejectReasons).toEqual([
      'span 1 of scope 0 of resource 0: trace_id must be 16 bytes and not all zero (and 1 more spans)',
      'span 3 of scope 0 of resource 0: span_id must be 8 bytes and not all zero',
      'span 4 of scope 0 of resource 0: end_time_unix_nano must not be before start_time_unix_nano',
    ]);
  });

  it('applies the same rules to OTLP/JSON, including ids that are not hex', () => {
    const base = { traceId: TRACE_ID, spanId: SPAN_ID, startTimeUnixNano: '10', endTimeUnixNano: '20' };
    const decoded = decodeTraceRequestJson(
      jsonRequest([
        { ...base, name: 'ok' },
        { ...base, name: 'not-hex', traceId: 'zz'.repeat(16) },
        { ...base, name: 'short', spanId: 'abcd' },
        { ...base, name: 'backwards', startTimeUnixNano: '30' },
        { ...base, name: 'bad-parent', parentSpanId: 'abc' },
        { ...base, name: 'bad-link', links: [{ traceId: 'not hex', spanId: SPAN_ID }] },
      ]),
    );
    expect(decoded.spans.map((s) => s.name)).toEqual(['ok']);
    expect(decoded.rejected).toBe(5);
    expect(decoded.rejectReasons).toHaveLength(5);
    expect(decoded.rejectReasons[0]).toMatch(/^span 1 of scope 0 of resource 0: trace_id/);
    expect(decoded.rejectReasons[3]).toMatch(/parent_span_id must be empty or 8 bytes/);
  });
});

describe('undecodable requests', () => {
  it('rejects truncated protobuf', () => {
    const bytes = protoRequest([spanMsg()]);
    expectDecodeError(() => decodeTraceRequestProto(bytes.subarray(0, bytes.length - 5)), /^invalid protobuf: .*index out of range/);
  });

  it('rejects protobuf with an invalid wire type', () => {
    expectDecodeError(() => decodeTraceRequestProto(new Uint8Array([0x0f, 0x01])), /^invalid protobuf: .*wire type/);
  });

  it('rejects text that is not JSON', () => {
    expectDecodeError(() => decodeTraceRequestJson('{"resourceSpans": ['), /^invalid JSON: /);
  });

  it('rejects JSON of the wrong shape with the offending field named', () => {
    expectDecodeError(() => decodeTraceRequestJson('{"resourceSpans": {}}'), /resourceSpans must be an array/);
    expectDecodeError(() => decodeTraceRequestJson('[]'), /must be a JSON object/);
    expectDecodeError(
      () => decodeTraceRequestJson(jsonRequest([{ traceId: TRACE_ID, spanId: SPAN_ID, startTimeUnixNano: '12abc' }])),
      /startTimeUnixNano must be an integer/,
    );
    expectDecodeError(
      () =>
        decodeTraceRequestJson(
          jsonRequest([{ traceId: TRACE_ID, spanId: SPAN_ID, attributes: [{ key: 'n', value: { intValue: '0x10' } }] }]),
        ),
      /intValue must be an integer/,
    );
  });

  it('rejects attribute values nested too deeply instead of overflowing the stack', () => {
    let value: object = { stringValue: 'leaf' };
    for (let i = 0; i < 5000; i++) value = { arrayValue: { values: [value] } };
    const request = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, attributes: [{ key: 'deep', value }] }] }] }] };
    expectDecodeError(() => decodeTraceRequestJson(request), /nest deeper than 32 levels/);
  });
});
