/**
 * Routes, failover and per-upstream health, behind one interface. A FailoverPolicy turns a request
 * (its X-Route-ID, model and API) into a RoutePlan in the shape of the self-hosted failover-policy
 * contract (route_id, primary_endpoint, fallback_endpoints, conditions); the YAML config fills one
 * today, another source (a control plane) can implement the same interface. UpstreamHealth keeps
 * a rolling window per upstream and a circuit breaker that opens on the route's conditions, cools
 * down, then lets one probe through.
 */

export interface RouteConditions {
  /** p95 latency (ms) over the window beyond which the breaker opens. */
  latencyThresholdMs?: number;
  /** Share of failed calls (0..1) over the window beyond which the breaker opens. */
  errorRateThreshold?: number;
}

export interface RoutePlan {
  routeId: string;
  primaryEndpoint: string;
  fallbackEndpoints: readonly string[];
  conditions: RouteConditions;
}

export interface RouteQuery {
  /** The caller's workspace (its own failover policies come before the configured routes). */
  workspace?: string;
  /** The X-Route-ID header, when sent. */
  routeId?: string;
  model?: string;
  /** The wire family the client speaks (openai or anthropic). */
  family: 'openai' | 'anthropic';
}

export type RouteResolution = { ok: true; plan: RoutePlan } | { ok: false; reason: 'unknown_route' | 'no_upstream'; message: string };

export interface FailoverPolicy {
  resolve(query: RouteQuery): RouteResolution;
}

export interface YamlRoute {
  primary: string;
  fallbacks: readonly string[];
  models: readonly string[];
  conditions: RouteConditions;
}

/** The policy of the receiver's `routes`, `default_upstreams` and `upstreams`. */
export class YamlFailoverPolicy implements FailoverPolicy {
  private readonly byModel = new Map<string, string>();

  constructor(
    private readonly routes: Readonly<Record<string, YamlRoute>>,
    /** Upstream id per family, used when no route applies. */
    private readonly defaults: Readonly<Partial<Record<'openai' | 'anthropic', string>>>,
    /** Upstream id -> its family. */
    private readonly families: ReadonlyMap<string, 'openai' | 'anthropic'>,
  ) {
    for (const [id, route] of Object.entries(routes)) for (const model of route.models) if (!this.byModel.has(model)) this.byModel.set(model, id);
  }

  resolve(query: RouteQuery): RouteResolution {
    if (query.routeId !== undefined) {
      const route = Object.prototype.hasOwnProperty.call(this.routes, query.routeId) ? this.routes[query.routeId] : undefined;
      if (!route) return { ok: false, reason: 'unknown_route', message: `unknown route "${query.routeId}" (X-Route-ID)` };
      return this.planOf(query.routeId, route, query.family);
    }
    const byModel = query.model !== undefined ? this.byModel.get(query.model) : undefined;
    if (byModel !== undefined) {
      const plan = this.planOf(byModel, this.routes[byModel], query.family);
      if (plan.ok) return plan;
    }
    const upstream = this.defaults[query.family];
    if (upstream === undefined) return { ok: false, reason: 'no_upstream', message: `no ${query.family} upstream is configured` };
    return { ok: true, plan: { routeId: `default.${query.family}`, primaryEndpoint: upstream, fallbackEndpoints: [], conditions: {} } };
  }

  private planOf(routeId: string, route: YamlRoute, family: 'openai' | 'anthropic'): RouteResolution {
    return routePlanOf(routeId, route, family, this.families);
  }
}

/**
 * The plan of a route for a family: refused when its primary speaks another API; fallbacks of
 * another family are left out (a call cannot change API on the way).
 */
export function routePlanOf(
  routeId: string,
  route: { primary: string; fallbacks: readonly string[]; conditions: RouteConditions },
  family: 'openai' | 'anthropic',
  families: ReadonlyMap<string, 'openai' | 'anthropic'>,
): RouteResolution {
  if (families.get(route.primary) !== family) {
    return { ok: false, reason: 'no_upstream', message: `route "${routeId}" does not serve the ${family} API` };
  }
  return {
    ok: true,
    plan: {
      routeId,
      primaryEndpoint: route.primary,
      fallbackEndpoints: route.fallbacks.filter((id) => families.get(id) === family),
      conditions: route.conditions,
    },
  };
}

export type HealthState = 'healthy' | 'degraded' | 'open';

/** What a gateway tells others of its upstreams' health (a capability of the host). */
export interface UpstreamHealthView {
  /** The upstream's state now; undefined when this gateway has no such upstream. */
  stateOf(upstreamId: string): HealthState | undefined;
}

export interface HealthOptions {
  windowMs: number;
  /** Calls in the window before the error rate may open the breaker. */
  minRequests: number;
  cooldownMs: number;
  /** Samples kept per upstream (bounds memory whatever the traffic). */
  maxSamples: number;
}

interface Sample {
  at: number;
  ok: boolean;
  latencyMs: number;
  ttftMs?: number;
}

interface Breaker {
  samples: Sample[];
  openedAt?: number;
  /** A probe is in flight while half-open. */
  probing: boolean;
}

export interface UpstreamHealthReport {
  state: HealthState;
  requests: number;
  errorRate: number;
  p95LatencyMs?: number;
  p95TtftMs?: number;
}

/** A breaker opening or closing, as instances tell each other (shared state). */
export interface BreakerChange {
  upstream: string;
  open: boolean;
  /** When it opened (ms since the epoch), for an open one. */
  at?: number;
}

/**
 * Rolling health and a circuit breaker per upstream. With `onChange`, every breaker opening or
 * closing is told to the other instances, and `apply` takes theirs: one instance finding an
 * upstream broken opens it everywhere, so every instance fails over together.
 */
export class UpstreamHealth {
  private readonly breakers = new Map<string, Breaker>();
  onChange: ((change: BreakerChange) => void) | undefined;

  constructor(
    private readonly options: HealthOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Another instance's breaker change: open here too (cooling down from its time), or close. */
  apply(change: BreakerChange): void {
    const breaker = this.breaker(change.upstream);
    if (change.open) {
      if (breaker.openedAt === undefined) breaker.openedAt = Math.min(change.at ?? this.now(), this.now());
      return;
    }
    if (breaker.openedAt === undefined) return;
    breaker.openedAt = undefined;
    breaker.probing = false;
    breaker.samples = [];
  }

  private opened(id: string, breaker: Breaker, at: number): void {
    const wasOpen = breaker.openedAt !== undefined;
    breaker.openedAt = at;
    if (!wasOpen) this.onChange?.({ upstream: id, open: true, at });
  }

  /**
   * The upstreams to try for a plan, in order: the primary, then the fallbacks, leaving out those
   * whose breaker is open and cooling down or whose half-open probe is in flight. With every
   * upstream left out, the primary alone (`forced`). Nothing is claimed here: an attempt claims
   * its upstream with `claim` when it is actually sent, so a fallback that is never called never
   * holds its breaker's one probe.
   */
  candidates(plan: RoutePlan): string[] {
    const out: string[] = [];
    for (const id of [plan.primaryEndpoint, ...plan.fallbackEndpoints]) {
      if (out.includes(id)) continue;
      if (this.admissible(id, plan.conditions)) out.push(id);
    }
    return out.length > 0 ? out : [plan.primaryEndpoint];
  }

  /** Whether an attempt at `id` may be sent now (closed, or cooled down with no probe in flight). Claims nothing. */
  admissible(id: string, conditions: RouteConditions): boolean {
    const breaker = this.breaker(id);
    const now = this.now();
    if (breaker.openedAt === undefined && this.tripped(this.window(breaker), conditions)) this.opened(id, breaker, now);
    if (breaker.openedAt === undefined) return true;
    return now - breaker.openedAt >= this.options.cooldownMs && !breaker.probing;
  }

  /**
   * Claims one attempt at `id`, right before it is sent: 'closed' (no breaker in the way),
   * 'probe' (this attempt is the breaker's one half-open probe; `record` or `release` must
   * follow), or 'refused' (open and cooling down, or another call's probe is in flight).
   */
  claim(id: string, conditions: RouteConditions): 'closed' | 'probe' | 'refused' {
    if (!this.admissible(id, conditions)) return 'refused';
    const breaker = this.breaker(id);
    if (breaker.openedAt === undefined) return 'closed';
    breaker.probing = true;
    return 'probe';
  }

  /**
   * Records one attempt's result (ok: an answer that is not a failover status). `probe`: the
   * attempt was claimed as the half-open probe; its verdict closes or reopens the breaker.
   */
  record(id: string, sample: { ok: boolean; latencyMs: number; ttftMs?: number }, probe = false): void {
    const breaker = this.breaker(id);
    const now = this.now();
    breaker.samples.push({ at: now, ok: sample.ok, latencyMs: sample.latencyMs, ...(sample.ttftMs !== undefined ? { ttftMs: sample.ttftMs } : {}) });
    if (breaker.samples.length > this.options.maxSamples) breaker.samples.shift();
    if (probe && breaker.probing) {
      breaker.probing = false;
      if (sample.ok) {
        breaker.openedAt = undefined;
        // A fresh window: the failures that opened it are history.
        breaker.samples = [breaker.samples[breaker.samples.length - 1]];
        this.onChange?.({ upstream: id, open: false });
      } else {
        breaker.openedAt = now;
      }
    }
  }

  /** Forgets a probe that ended without a verdict (the client went away). */
  release(id: string): void {
    const breaker = this.breakers.get(id);
    if (breaker) breaker.probing = false;
  }

  report(id: string, conditions: RouteConditions = {}): UpstreamHealthReport {
    const breaker = this.breaker(id);
    const window = this.window(breaker);
    const failed = window.filter((s) => !s.ok).length;
    const errorRate = window.length === 0 ? 0 : failed / window.length;
    const p95LatencyMs = p95(window.map((s) => s.latencyMs));
    const p95TtftMs = p95(window.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs])));
    let state: HealthState = 'healthy';
    if (breaker.openedAt !== undefined || this.tripped(window, conditions)) state = 'open';
    else if (failed > 0) state = 'degraded';
    return { state, requests: window.length, errorRate, ...(p95LatencyMs !== undefined ? { p95LatencyMs } : {}), ...(p95TtftMs !== undefined ? { p95TtftMs } : {}) };
  }

  private tripped(window: Sample[], conditions: RouteConditions): boolean {
    if (window.length < this.options.minRequests) return false;
    const { errorRateThreshold, latencyThresholdMs } = conditions;
    if (errorRateThreshold !== undefined && window.filter((s) => !s.ok).length / window.length > errorRateThreshold) return true;
    if (latencyThresholdMs !== undefined) {
      const latency = p95(window.map((s) => s.ttftMs ?? s.latencyMs));
      if (latency !== undefined && latency > latencyThresholdMs) return true;
    }
    return false;
  }

  private window(breaker: Breaker): Sample[] {
    const since = this.now() - this.options.windowMs;
    while (breaker.samples.length > 0 && breaker.samples[0].at < since) breaker.samples.shift();
    return breaker.samples;
  }

  private breaker(id: string): Breaker {
    let breaker = this.breakers.get(id);
    if (!breaker) {
      breaker = { samples: [], probing: false };
      this.breakers.set(id, breaker);
    }
    return breaker;
  }
}

function p95(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
}

/**
 * Exponential backoff with equal jitter before attempt `attempt` (1 = the first retry): a uniform
 * wait between half and all of min(maxMs, initialMs * 2^(attempt-1)), so a retry never comes at once.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A provider's Retry-After (seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent or invalid. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now: number = Date.now()): number | undefined {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const ms = Number(first(headers['retry-after-ms']));
  if (first(headers['retry-after-ms']) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const text = first(headers['retry-after'])?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone
  // would take "-3" or "12" for a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
