/** The OTLP/JSON spellings a receiver meets in practice all decode to the same span. */
import { decodeTraceRequestJson } from '../../../core/otlp/decode';
import { SPAN_ID, TRACE_ID } from './otlp-fixtures';

const PARENT = '00f067aa0ba902b7';

const CANONICAL = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 1 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: { name: 'lib', version: '2.0', attributes: [{ key: 'k', value: { boolValue: true } }] },
          schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
          spans: [
            {
              traceId: TRACE_ID,
              spanId: SPAN_ID,
              parentSpanId: PARENT,
              traceState: 'vendor=x',
              name: 'chat',
              kind: 3,
              startTimeUnixNano: '1700000000123456789',
              endTimeUnixNano: '1700000000223456789',
              attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: '12' } }],
              droppedAttributesCount: 5,
              events: [{ timeUnixNano: '1700000000123456790', name: 'e', attributes: [{ key: 'x', value: { doubleValue: 1.5 } }] }],
              links: [{ traceId: TRACE_ID, spanId: PARENT, traceState: 't=1', flags: 256 }],
              status: { code: 2, message: 'boom' },
              flags: 257,
            },
          ],
        },
      ],
    },
  ],
};

function expectCanonical(text: string | object): void {
  const { spans, rejected } = decodeTraceRequestJson(text);
  expect(rejected).toBe(0);
  expect(spans).toHaveLength(1);
  const s = spans[0];
  expect(s).toMatchObject({
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    parentSpanId: PARENT,
    traceState: 'vendor=x',
    name: 'chat',
    kind: 'client',
    startTimeUnixNano: 1700000000123456789n,
    endTimeUnixNano: 1700000000223456789n,
    attributes: { 'gen_ai.usage.input_tokens': 12n },
    droppedAttributesCount: 5,
    status: { code: 'error', message: 'boom' },
    flags: 257,
    scopeSchemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
  });
  expect(s.events).toEqual([{ timeUnixNano: 1700000000123456790n, name: 'e', attributes: { x: 1.5 }, droppedAttributesCount: 0 }]);
  expect(s.links).toEqual([{ traceId: TRACE_ID, spanId: PARENT, traceState: 't=1', attributes: {}, droppedAttributesCount: 0, flags: 256 }]);
  expect(s.resource).toEqual({
    attributes: { 'service.name': 'svc' },
    droppedAttributesCount: 1,
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  });
  expect(s.scope).toEqual({ name: 'lib', version: '2.0', attributes: { k: true }, droppedAttributesCount: 0 });
}

function transformKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => transformKeys(v, rename));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[rename(k)] = transformKeys(v, rename);
    return out;
  }
  return value;
}

const toSnake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

describe('OTLP/JSON variants', () => {
  it('decodes the canonical camelCase form from text, bytes and an already parsed object', () => {
    expectCanonical(JSON.stringify(CANONICAL));
    expectCanonical(Buffer.from(JSON.stringify(CANONICAL)));
    expectCanonical(CANONICAL);
  });

  it('accepts snake_case keys as the Collector does', () => {
    const snake = JSON.stringify(transformKeys(CANONICAL, toSnake));
    expect(snake).toContain('"resource_spans"');
    expect(snake).toContain('"start_time_unix_nano"');
    expect(snake).toContain('"int_value"');
    expectCanonical(snake);
  });

  it('lowercases uppercase hex ids', () => {
    const text = JSON.stringify(CANONICAL)
      .replaceAll(TRACE_ID, TRACE_ID.toUpperCase())
      .replaceAll(SPAN_ID, SPAN_ID.toUpperCase())
      .replaceAll(PARENT, PARENT.toUpperCase());
    expect(text).not.toContain(TRACE_ID);
    expectCanonical(text);
  });

  it('accepts enum names for kind and status code', () => {
    const text = JSON.stringify(CANONICAL)
      .replace('"kind":3', '"kind":"SPAN_KIND_CLIENT"')
      .replace('"code":2', '"code":"STATUS_CODE_ERROR"');
    expect(text).toContain('SPAN_KIND_CLIENT');
    expectCanonical(text);
  });

  it('accepts int64 fields as JSON numbers', () => {
    const text = JSON.stringify(CANONICAL).replace('"intValue":"12"', '"intValue":12');
    const { spans } = decodeTraceRequestJson(
      text
        .replace('"startTimeUnixNano":"1700000000123456789"', '"startTimeUnixNano":1700000000')
        .replace('"endTimeUnixNano":"1700000000223456789"', '"endTimeUnixNano":1700000001'),
    );
    expect(spans[0].attributes['gen_ai.usage.input_tokens']).toBe(12n);
    expect(spans[0].startTimeUnixNano).toBe(1700000000n);
    expect(spans[0].endTimeUnixNano).toBe(1700000001n);
  });

  it('ignores unknown fields and treats an empty request as no spans', () => {
    const withExtras = JSON.parse(JSON.stringify(CANONICAL));
    withExtras.somethingNew = 1;
    withExtras.resourceSpans[0].scopeSpans[0].spans[0].futureField = { a: 1 };
    expectCanonical(withExtras);
    expect(decodeTraceRequestJson('{}')).toEqual({ spans: [], rejected: 0, rejectReasons: [] });
  });
});
