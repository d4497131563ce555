/** Every OTLP AnyValue kind keeps its type through both decoders, ints exactly beyond 2^53. */
import Long from 'long';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../../core/otlp/decode';
import type { Attributes } from '../../../core/span';
import { SPAN_ID, TRACE_ID, jsonRequest, kv, protoRequest, spanMsg } from './otlp-fixtures';

const EXPECTED: Attributes = {
  str: 'hello',
  empty_str: '',
  yes: true,
  no: false,
  int: 42n,
  zero_int: 0n,
  negative: -7n,
  above_2_53: 9007199254740993n,
  int64_min: -9223372036854775808n,
  int64_max: 9223372036854775807n,
  double: 3.5,
  zero_double: 0,
  bytes: new Uint8Array([0, 255, 1]),
  array: ['a', 1n, [true, 2.5]],
  kvlist: { a: 1n, nested: { c: 'deep' } },
  unset: null,
  missing: null,
};

describe('AnyValue decoding', () => {
  it('keeps every kind via protobuf', () => {
    const bytes = protoRequest([
      spanMsg({
        attributes: [
          kv('str', { stringValue: 'hello' }),
          kv('empty_str', { stringValue: '' }),
          kv('yes', { boolValue: true }),
          kv('no', { boolValue: false }),
          kv('int', { intValue: 42 }),
          kv('zero_int', { intValue: 0 }),
          kv('negative', { intValue: -7 }),
          kv('above_2_53', { intValue: Long.fromString('9007199254740993') }),
          kv('int64_min', { intValue: Long.MIN_VALUE }),
          kv('int64_max', { intValue: Long.MAX_VALUE }),
          kv('double', { doubleValue: 3.5 }),
          kv('zero_double', { doubleValue: 0 }),
          kv('bytes', { bytesValue: new Uint8Array([0, 255, 1]) }),
          kv('array', {
            arrayValue: {
              values: [{ stringValue: 'a' }, { intValue: 1 }, { arrayValue: { values: [{ boolValue: true }, { doubleValue: 2.5 }] } }],
            },
          }),
          kv('kvlist', {
            kvlistValue: {
              values: [kv('a', { intValue: 1 }), kv('nested', { kvlistValue: { values: [kv('c', { stringValue: 'deep' })] } })],
            },
          }),
          kv('unset', {}),
          kv('missing', null),
        ],
      }),
    ]);
    const { spans } = decodeTraceRequestProto(bytes);
    expect(spans[0].attributes).toEqual(EXPECTED);
    expect(typeof spans[0].attributes.int).toBe('bigint');
    expect(typeof spans[0].attributes.double).toBe('number');
  });

  it('keeps every kind via JSON, with int64 as strings', () => {
    const text = jsonRequest([
      {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        startTimeUnixNano: '1',
        endTimeUnixNano: '2',
        attributes: [
          { key: 'str', value: { stringValue: 'hello' } },
          { key: 'empty_str', value: { stringValue: '' } },
          { key: 'yes', value: { boolValue: true } },
          { key: 'no', value: { boolValue: false } },
          { key: 'int', value: { intValue: '42' } },
          { key: 'zero_int', value: { intValue: '0' } },
          { key: 'negative', value: { intValue: -7 } },
          { key: 'above_2_53', value: { intValue: '9007199254740993' } },
          { key: 'int64_min', value: { intValue: '-9223372036854775808' } },
          { key: 'int64_max', value: { intValue: '9223372036854775807' } },
          { key: 'double', value: { doubleValue: 3.5 } },
          { key: 'zero_double', value: { doubleValue: 0 } },
          { key: 'bytes', value: { bytesValue: Buffer.from([0, 255, 1]).toString('base64') } },
          {
            key: 'array',
            value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, { arrayValue: { values: [{ boolValue: true }, { doubleValue: 2.5 }] } }] } },
          },
          {
            key: 'kvlist',
            value: {
              kvlistValue: {
                values: [
                  { key: 'a', value: { intValue: 1 } },
                  { key: 'nested', value: { kvlistValue: { values: [{ key: 'c', value: { stringValue: 'deep' } }] } } },
                ],
              },
            },
          },
          { key: 'unset', value: {} },
          { key: 'missing' },
        ],
      },
    ]);
    const { spans } = decodeTraceRequestJson(text);
    expect(spans[0].attributes).toEqual(EXPECTED);
    expect(spans[0].attributes.above_2_53).toBe(9007199254740993n);
  });

  it('reads the non-finite doubles that proto3 JSON writes as strings', () => {
    const { spans } = decodeTraceRequestJson(
      jsonRequest([
        {
          traceId: TRACE_ID,
          spanId: SPAN_ID,
          attributes: [
            { key: 'nan', value: { doubleValue: 'NaN' } },
            { key: 'inf', value: { doubleValue: 'Infinity' } },
            { key: 'ninf', value: { doubleValue: '-Infinity' } },
          ],
        },
      ]),
    );
    expect(spans[0].attributes).toEqual({ nan: NaN, inf: Infinity, ninf: -Infinity });
  });

  it('stores a "__proto__" attribute as a plain key without touching the prototype', () => {
    const bytes = protoRequest([spanMsg({ attributes: [kv('__proto__', { kvlistValue: { values: [kv('polluted', { boolValue: true })] } })] })]);
    for (const { spans } of [
      decodeTraceRequestProto(bytes),
      decodeTraceRequestJson(
        jsonRequest([
          {
            traceId: TRACE_ID,
            spanId: SPAN_ID,
            attributes: [{ key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: { boolValue: true } }] } } }],
          },
        ]),
      ),
    ]) {
      const attrs = spans[0].attributes;
      expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
      expect(Object.keys(attrs)).toEqual(['__proto__']);
      expect((attrs as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyDescriptor(attrs, '__proto__')?.value).toEqual({ polluted: true });
    }
  });

  it('lets the last oneof member on the wire win, as protobuf requires', () => {
    // Both members set: the encoder writes string_value (1) before int_value (3).
    const bytes = protoRequest([spanMsg({ attributes: [kv('k', { stringValue: 'first', intValue: 5 })] })]);
    expect(decodeTraceRequestProto(bytes).spans[0].attributes).toEqual({ k: 5n });
  });

  it('accepts strings with invalid UTF-8 as the Collector does, replacing the bad bytes', () => {
    const bytes = Buffer.from(protoRequest([spanMsg({ attributes: [kv('k', { bytesValue: new Uint8Array([0x61, 0xff]) })] })]));
    // Turn the bytes_value (field 7, tag 0x3a) into a string_value (field 1, tag 0x0a).
    const at = bytes.indexOf(Buffer.from([0x3a, 0x02, 0x61, 0xff]));
    expect(at).toBeGreaterThan(0);
    bytes[at] = 0x0a;
    expect(decodeTraceRequestProto(bytes).spans[0].attributes).toEqual({ k: 'a\uFFFD' });
  });

  it('copies bytes values out of the request buffer', () => {
    const bytes = protoRequest([spanMsg({ attributes: [kv('b', { bytesValue: new Uint8Array([7, 7, 7]) })] })]);
    const { spans } = decodeTraceRequestProto(bytes);
    bytes.fill(0);
    expect(spans[0].attributes.b).toEqual(new Uint8Array([7, 7, 7]));
  });
});
