import { randomSpanId, randomTraceId, rootSpanIdFor, spanIdFor, traceIdFor } from '../../../core/ingest/ids';
import { isoToNanos } from '../../../core/ingest/time';

describe('client ids to OTLP ids', () => {
  it('keeps hex trace ids (also inside trace_<32hex>) and hashes anything else per workspace', () => {
    const hex = '0123456789abcdef0123456789ABCDEF';
    expect(traceIdFor('acme', hex)).toBe(hex.toLowerCase());
    expect(traceIdFor('acme', `trace_${hex}`)).toBe(hex.toLowerCase());
    const derived = traceIdFor('acme', 'req_finance_001');
    expect(derived).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdFor('acme', 'req_finance_001')).toBe(derived);
    expect(traceIdFor('other', 'req_finance_001')).not.toBe(derived);
    expect(traceIdFor('acme', '0'.repeat(32))).not.toBe('0'.repeat(32));
  });

  it('keeps 16-hex span ids and hashes others within their trace', () => {
    expect(spanIdFor('acme', 't', '0123456789ABCDEF')).toBe('0123456789abcdef');
    const a = spanIdFor('acme', 'trace-a', 'span_0123456789abcdef01234567');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(spanIdFor('acme', 'trace-b', 'span_0123456789abcdef01234567')).not.toBe(a);
  });
});

test('derived ids never change between versions (stored rows and replays depend on them)', () => {
  expect(traceIdFor('acme', 'req_finance_001')).toBe('4b09fe16c3f36ec2574b36e9a17e1023');
  expect(spanIdFor('acme', 'trace-a', 'span_0123456789abcdef01234567')).toBe('629f6b2bc63f4f52');
  expect(rootSpanIdFor('wš', 't')).toBe('f37a3146fde88abb');
});

describe('ISO 8601 timestamps', () => {
  /** An independent reading: Date.parse for the seconds, the fraction's digits as nanoseconds. */
  function reference(text: string): bigint | undefined {
    const m = /^(.{19})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i.exec(text);
    if (!m) return undefined;
    const zone = m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3].toUpperCase();
    const ms = Date.parse(`${m[1]}${zone}`);
    return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  }

  it('reads the UTC form SDKs send exactly as the general parser does, edge dates included', () => {
    const samples = [
      '1970-01-01T00:00:00Z', '2000-02-29T23:59:59.999999999Z', '2100-02-28T00:00:00.1Z', '2024-12-31T23:59:59.5Z',
      '2026-01-31T12:00:00.123Z', '2026-01-31T12:00:00.123456Z', '0099-06-01T00:00:00Z', '9999-12-31T23:59:59Z',
      '2026-11-20T10:00:00.000000001Z',
    ];
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Math.random() * 4_102_444_800_000);
      const fraction = String(Math.floor(Math.random() * 1e9)).padStart(9, '0').slice(0, 1 + (i % 9));
      samples.push(`${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`);
    }
    for (const text of samples) expect([text, isoToNanos(text)]).toEqual([text, reference(text)]);
  });

  it('refuses malformed variants of the UTC form', () => {
    for (const text of ['2026-02-29T00:00:00Z', '2026-01-31T12:00:00.Z', '2026-01-31T12:00:00.1234567890Z', '2026-01-31T24:00:01Z', '2026-01-31T12:60:00Z', '2026-01-31t12:00:00Z', '2026-1-31T12:00:00Z', '2026-01-31T12:00:0aZ']) {
      expect([text, isoToNanos(text)]).toEqual([text, reference(text)]);
    }
    expect(isoToNanos('2026-02-29T00:00:00Z')).toBe(reference('2026-02-29T00:00:00Z'));
  });

  it('keeps every fractional digit and honours the zone', () => {
    expect(isoToNanos('2026-11-20T10:00:00.123456789Z')).toBe(1795168800123456789n);
    expect(isoToNanos('2026-11-20T10:00:00Z')).toBe(1795168800000000000n);
    expect(isoToNanos('2026-11-20T12:00:00.5+02:00')).toBe(1795168800500000000n);
    expect(isoToNanos('2026-11-20T12:00:00+0200')).toBe(1795168800000000000n);
  });

  it('refuses text without a zone or that is not a timestamp', () => {
    expect(isoToNanos('2026-11-20T10:00:00')).toBeUndefined();
    expect(isoToNanos('yesterday')).toBeUndefined();
    expect(isoToNanos('2026-13-45T10:00:00Z')).toBeUndefined();
  });
});

test('random trace and span ids from the pool are well-formed and never repeat across pool refills', () => {
  const traces = Array.from({ length: 1000 }, () => randomTraceId());
  const spans = Array.from({ length: 1000 }, () => randomSpanId());
  expect(traces.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
  expect(spans.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
  expect(new Set(traces).size).toBe(1000);
  expect(new Set(spans).size).toBe(1000);
});
