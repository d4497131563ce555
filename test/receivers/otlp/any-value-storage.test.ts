/**
 * Every OTLP AnyValue kind, sent as OTLP/JSON and as protobuf, lands in ClickHouse in its
 * documented string form (ints exact beyond 2^53, bytes base64, arrays and kvlists as JSON) and in
 * the typed columns where it maps.
 */
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

const yaml = (database: string) => otlpPipelineYaml({ database });

const BIG = '9007199254740993'; // 2^53 + 1: not representable as a double

const expectedMap = {
  s: 'text',
  b: 'true',
  i: BIG,
  neg: '-42',
  d: '3.25',
  bytes: 'AQID/w==',
  arr: `["a",${BIG},true,1.5]`,
  kv: '{"inner":"x","n":7,"nested":{"deep":false}}',
  empty: '',
  'gen_ai.usage.input_tokens': BIG,
  // Stamped by the receiver: no auth, so its default_workspace.
  'tracehouse.workspace': 'default',
  'tracehouse.source': 'otlp',
};

describe('every AnyValue kind into ClickHouse', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('anyvalue');
  beforeAll(async () => {
    daemon = await startDaemon(yaml(database));
  });
  afterAll(() => daemon.stop());

  const stored = async (spanId: string) =>
    (await queryRows<{ SpanAttributes: Record<string, string>; InputTokens: string | number }>(
      daemon,
      `SELECT SpanAttributes, toString(InputTokens) AS InputTokens FROM otel_traces WHERE SpanId = '${spanId}'`,
      database,
    ))[0];

  it('over OTLP/JSON', async () => {
    const kv = (key: string, value: object) => ({ key, value });
    const body = {
      resourceSpans: [{ scopeSpans: [{ spans: [{
        traceId: 'AB000000000000000000000000000001', spanId: '00000000000000A1', name: 'json',
        startTimeUnixNano: '1763900000000000000', endTimeUnixNano: '1763900000000000001',
        attributes: [
          kv('s', { stringValue: 'text' }),
          kv('b', { boolValue: true }),
          kv('i', { intValue: BIG }),
          kv('neg', { intValue: -42 }),
          kv('d', { doubleValue: 3.25 }),
          kv('bytes', { bytesValue: 'AQID/w==' }),
          kv('arr', { arrayValue: { values: [{ stringValue: 'a' }, { intValue: BIG }, { boolValue: true }, { doubleValue: 1.5 }] } }),
          kv('kv', { kvlistValue: { values: [kv('inner', { stringValue: 'x' }), kv('n', { intValue: '7' }), kv('nested', { kvlistValue: { values: [kv('deep', { boolValue: false })] } })] } }),
          kv('empty', {}),
          kv('gen_ai.usage.input_tokens', { intValue: BIG }),
        ],
      }] }] }],
    };
    const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const row = await stored('00000000000000a1');
    expect(row.SpanAttributes).toEqual(expectedMap);
    expect(String(row.InputTokens)).toBe(BIG);
  });

  it('over protobuf', async () => {
    const span = makeSpan({
      traceId: 'ab000000000000000000000000000002',
      spanId: '00000000000000a2',
      name: 'proto',
      startTimeUnixNano: 1_763_900_000_000_000_000n,
      endTimeUnixNano: 1_763_900_000_000_000_001n,
      attributes: {
        s: 'text',
        b: true,
        i: BigInt(BIG),
        neg: -42n,
        d: 3.25,
        bytes: Uint8Array.from([1, 2, 3, 255]),
        arr: ['a', BigInt(BIG), true, 1.5],
        kv: { inner: 'x', n: 7n, nested: { deep: false } },
        empty: null,
        'gen_ai.usage.input_tokens': BigInt(BIG),
      },
    });
    const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body: encodeTraceRequestProto([span]), headers: { 'content-type': 'application/x-protobuf' } });
    expect(res.status).toBe(200);
    const row = await stored('00000000000000a2');
    expect(row.SpanAttributes).toEqual(expectedMap);
    expect(String(row.InputTokens)).toBe(BIG);
  });
});
