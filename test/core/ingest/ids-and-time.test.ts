import { randomSpanId, randomTraceId, spanIdFor, traceIdFor } from '../../../core/ingest/ids';
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

describe('ISO 8601 timestamps', () => {
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
