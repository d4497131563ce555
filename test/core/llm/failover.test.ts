import { backoffMs, retryAfterMs, UpstreamHealth } from '../../../core/llm/failover';
import type { RoutePlan } from '../../../core/llm/failover';

/** A health tracker on a clock the test moves by hand. */
function tracker(options: Partial<{ minRequests: number; cooldownMs: number; windowMs: number }> = {}) {
  const clock = { now: 1_000_000 };
  const health = new UpstreamHealth({ windowMs: options.windowMs ?? 60_000, minRequests: options.minRequests ?? 4, cooldownMs: options.cooldownMs ?? 1_000, maxSamples: 100 }, () => clock.now);
  return { clock, health };
}

const plan: RoutePlan = { routeId: 'r', primaryEndpoint: 'a', fallbackEndpoints: ['b'], conditions: { errorRateThreshold: 0.5, latencyThresholdMs: 500 } };

function fail(health: UpstreamHealth, id: string, times: number) {
  for (let i = 0; i < times; i++) health.record(id, { ok: false, latencyMs: 10 });
}

/** Opens `id`'s breaker (four failures, then a look that trips it). */
function open(health: UpstreamHealth, id: string) {
  fail(health, id, 4);
  expect(health.admissible(id, plan.conditions)).toBe(false);
}

describe('UpstreamHealth', () => {
  it('opens on the error rate only after min_requests calls in the window', () => {
    const { health } = tracker();
    fail(health, 'a', 3);
    expect(health.candidates(plan)).toEqual(['a', 'b']);
    expect(health.report('a', plan.conditions).state).toBe('degraded');
    fail(health, 'a', 1);
    expect(health.candidates(plan)).toEqual(['b']);
    expect(health.report('a', plan.conditions)).toMatchObject({ state: 'open', requests: 4, errorRate: 1 });
  });

  it('opens when the p95 latency (time to first token for streams) passes latency_threshold_ms', () => {
    const { health } = tracker();
    for (let i = 0; i < 4; i++) health.record('a', { ok: true, latencyMs: 5_000, ttftMs: 100 });
    expect(health.candidates(plan)).toEqual(['a', 'b']);
    for (let i = 0; i < 4; i++) health.record('a', { ok: true, latencyMs: 900 });
    expect(health.candidates(plan)).toEqual(['b']);
    expect(health.report('a', plan.conditions).p95LatencyMs).toBe(5_000);
  });

  it('keeps an open upstream out until the cooldown ends, then lets exactly one probe through', () => {
    const { clock, health } = tracker();
    open(health, 'a');
    clock.now += 999;
    expect(health.claim('a', plan.conditions)).toBe('refused');
    clock.now += 1;
    expect(health.candidates(plan)).toEqual(['a', 'b']);
    expect(health.claim('a', plan.conditions)).toBe('probe');
    // The probe is in flight: no second one, and candidates leave it out.
    expect(health.claim('a', plan.conditions)).toBe('refused');
    expect(health.candidates(plan)).toEqual(['b']);
    expect(health.claim('b', plan.conditions)).toBe('closed');
  });

  it('closes the breaker with a fresh window when the probe succeeds', () => {
    const { clock, health } = tracker();
    open(health, 'a');
    clock.now += 1_000;
    expect(health.claim('a', plan.conditions)).toBe('probe');
    health.record('a', { ok: true, latencyMs: 10 }, true);
    expect(health.report('a', plan.conditions)).toMatchObject({ state: 'healthy', requests: 1 });
    expect(health.claim('a', plan.conditions)).toBe('closed');
  });

  it('reopens the breaker for another cooldown when the probe fails', () => {
    const { clock, health } = tracker();
    open(health, 'a');
    clock.now += 1_000;
    expect(health.claim('a', plan.conditions)).toBe('probe');
    health.record('a', { ok: false, latencyMs: 10 }, true);
    expect(health.claim('a', plan.conditions)).toBe('refused');
    clock.now += 999;
    expect(health.claim('a', plan.conditions)).toBe('refused');
    clock.now += 1;
    expect(health.claim('a', plan.conditions)).toBe('probe');
  });

  it('lists the primary alone when every upstream is open', () => {
    const { health } = tracker();
    open(health, 'a');
    open(health, 'b');
    expect(health.candidates(plan)).toEqual(['a']);
    expect(health.admissible('a', plan.conditions)).toBe(false);
  });

  it('claims no probe slot for an upstream that is only listed, so it is still probed once the primary fails', () => {
    const { clock, health } = tracker();
    open(health, 'b');
    clock.now += 1_000;
    // Many calls list the cooled-down fallback; the primary answers them all.
    for (let i = 0; i < 5; i++) {
      expect(health.candidates(plan)).toEqual(['a', 'b']);
      expect(health.claim('a', plan.conditions)).toBe('closed');
      health.record('a', { ok: true, latencyMs: 10 });
    }
    // The probe slot of b is free: the first call that actually sends to b probes it.
    expect(health.claim('b', plan.conditions)).toBe('probe');
    health.record('b', { ok: true, latencyMs: 10 }, true);
    expect(health.report('b', plan.conditions).state).toBe('healthy');
  });

  it('gives a claimed probe back on release (a call that ended without a verdict)', () => {
    const { clock, health } = tracker();
    open(health, 'a');
    clock.now += 1_000;
    expect(health.claim('a', plan.conditions)).toBe('probe');
    health.release('a');
    expect(health.claim('a', plan.conditions)).toBe('probe');
  });

  it("does not take a plain call's result as the verdict of another call's probe", () => {
    const { clock, health } = tracker();
    open(health, 'a');
    clock.now += 1_000;
    expect(health.claim('a', plan.conditions)).toBe('probe');
    health.record('a', { ok: true, latencyMs: 10 });
    expect(health.report('a', plan.conditions).state).toBe('open');
    expect(health.claim('a', plan.conditions)).toBe('refused');
  });
});

describe('backoffMs', () => {
  it('waits between half and all of the exponential ceiling, capped at maxMs', () => {
    expect(backoffMs(1, 100, 2_000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 2_000, () => 0.999999)).toBe(100);
    expect(backoffMs(3, 100, 2_000, () => 0)).toBe(200);
    expect(backoffMs(3, 100, 2_000, () => 0.999999)).toBe(400);
    expect(backoffMs(10, 100, 2_000, () => 0)).toBe(1_000);
    expect(backoffMs(10, 100, 2_000, () => 0.999999)).toBe(2_000);
    for (let i = 0; i < 200; i++) {
      const wait = backoffMs(2, 100, 2_000);
      expect(wait).toBeGreaterThanOrEqual(100);
      expect(wait).toBeLessThanOrEqual(200);
    }
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds, fractional seconds, an HTTP date and retry-after-ms (which wins)', () => {
    expect(retryAfterMs({ 'retry-after': '7' }, now)).toBe(7_000);
    expect(retryAfterMs({ 'retry-after': '1.5' }, now)).toBe(1_500);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '7' }, now)).toBe(250);
    expect(retryAfterMs({ 'retry-after-ms': ['40'] }, now)).toBe(40);
  });

  it('ignores absent and invalid values', () => {
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '-3' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after-ms': 'x', 'retry-after': '2' }, now)).toBe(2_000);
  });
});
