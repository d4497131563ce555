import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import type { Authenticator } from '../../core/auth';
import type { ComponentSettings, Host, HttpListener, Receiver, SpanConsumer } from '../../core/component';
import { errorMessage } from '../../core/errors';
import { BodyError, readBody } from '../../core/http-body';
import { InflightLimiter } from '../../core/inflight-limiter';
import { stampSpans } from '../../core/ingest/attributes';
import { RateLimits, rateLimitHeaders } from '../../core/ingest/rate-limit';
import { nowNanos } from '../../core/ingest/time';
import { shareBreakers } from '../../core/shared-state/breakers';
import { backoffMs, retryAfterMs, UpstreamHealth, YamlFailoverPolicy } from '../../core/llm/failover';
import type { FailoverPolicy, RoutePlan } from '../../core/llm/failover';
import { inputMessagesOf, outcomeOfJson, streamReaderFor } from '../../core/llm/outcome';
import type { EventVerdict } from '../../core/llm/outcome';
import { LayeredPreflight } from '../../core/llm/layered-preflight';
import { allowAll } from '../../core/llm/preflight';
import type { Preflight } from '../../core/llm/preflight';
import { emptyOutcome, errorEnvelope, isRecord } from '../../core/llm/protocol';
import type { Json, LlmApi } from '../../core/llm/protocol';
import { SseDecoder, SseFramer } from '../../core/llm/sse';
import { bodyFailureKind, UpstreamCallError, UpstreamClient } from '../../core/llm/upstream-client';
import type { UpstreamResponse } from '../../core/llm/upstream-client';
import { bodyTimeoutsOf, listenerOptionsOf } from '../../core/listener-config';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import type { Attributes, Span } from '../../core/span';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { DEFAULT_WORKSPACE, receiverAuthenticator } from '../../core/workspaces';
import type { ProxyReceiverConfig, UpstreamConfig } from './config';
import { ManagedGuardrails } from './managed-guardrails';
import { ManagedRoutes } from './managed-routes';
import { clientResponseHeaders, firstHeader, passthroughResponseHeaders, upstreamRequestHeaders } from './headers';
import { callSpans, httpSpan, usageOf } from './span';
import type { AttemptRecord, CallContext, CallRecord } from './span';
import { SpanQueue } from './span-queue';

type Family = 'openai' | 'anthropic';

interface Upstream {
  id: string;
  config: UpstreamConfig;
  family: Family;
  client: UpstreamClient;
  providerName: string;
}

interface LlmRoute {
  path: string;
  api: LlmApi;
  family: Family;
}

export const LLM_ROUTES: readonly LlmRoute[] = [
  { path: '/v1/chat/completions', api: 'chat', family: 'openai' },
  { path: '/v1/responses', api: 'responses', family: 'openai' },
  { path: '/api/proxy/openai/responses', api: 'responses', family: 'openai' },
  { path: '/v1/completions', api: 'completions', family: 'openai' },
  { path: '/v1/embeddings', api: 'embeddings', family: 'openai' },
  { path: '/v1/messages', api: 'messages', family: 'anthropic' },
];
export const MODELS_PATH = '/v1/models';

const MAX_ID_CHARS = 256;
const MAX_JSON_PARSE_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** JSON answers up to this size (with a length) are held and sent in one write. */
const MAX_WHOLE_ANSWER_BYTES = 1024 * 1024;

/** The caller's credentials, split into the workspace key and the provider key (never stored). */
interface Credentials {
  workspaceHeaders: IncomingHttpHeaders;
  /** The caller's own provider credential header, forwarded untouched. */
  providerHeader?: [string, string];
}

function credentialsOf(headers: IncomingHttpHeaders, family: Family, authEnabled: boolean): Credentials {
  const apiKey = firstHeader(headers['x-api-key']);
  const authorization = firstHeader(headers.authorization);
  if (!authEnabled) {
    if (authorization !== undefined) return { workspaceHeaders: {}, providerHeader: ['authorization', authorization] };
    if (apiKey !== undefined && family === 'anthropic') return { workspaceHeaders: {}, providerHeader: ['x-api-key', apiKey] };
    return { workspaceHeaders: {} };
  }
  // X-API-Key is the workspace key (TraceLM form); Authorization then carries the provider key.
  if (apiKey !== undefined) return { workspaceHeaders: { 'x-api-key': apiKey }, providerHeader: authorization !== undefined ? ['authorization', authorization] : undefined };
  return { workspaceHeaders: authorization !== undefined ? { authorization } : {} };
}

/**
 * The caller's provider credential as the upstream expects it: Anthropic takes API keys in
 * x-api-key, so `Authorization: Bearer sk-ant-api...` (an SDK or tool that only knows Bearer keys)
 * goes there; anything else (OAuth bearer tokens included) is forwarded as it came.
 */
function providerCredentialFor(family: Family, [name, value]: [string, string]): [string, string] {
  if (family === 'anthropic' && name === 'authorization') {
    const token = /^Bearer\s+(sk-ant-api\S+)$/i.exec(value)?.[1];
    if (token !== undefined) return ['x-api-key', token];
  }
  return [name, value];
}

function boundedId(value: string | string[] | undefined): string | undefined {
  const v = firstHeader(value);
  return v === undefined ? undefined : v.slice(0, MAX_ID_CHARS);
}

class ClientGone extends Error {}

/** The request body as the client sent it (or the preflight rewrote it), and with include_usage added when the gateway adds it. */
interface UpstreamBodies {
  plain: Buffer;
  withUsage?: Buffer;
}

/** The `proxy` receiver: an LLM gateway on the shared ingest listener. */
export class ProxyReceiver implements Receiver {
  private listener: HttpListener | undefined;
  private accepting = false;
  private auth!: Authenticator;
  private readonly rateLimits: RateLimits;
  private readonly limiter: InflightLimiter;
  private readonly upstreams = new Map<string, Upstream>();
  private policy!: FailoverPolicy;
  readonly health: UpstreamHealth;
  private readonly queue: SpanQueue;
  private readonly inflight = new Set<Promise<void>>();
  private readonly telemetry: ReceiverTelemetry;
  /** Statuses that fail over (never 400, 401, 403, 404 or 422, whatever on_status says). */
  private readonly failoverStatus: ReadonlySet<number>;
  /** The configured preflight, then the guardrail policies of the caller's workspace. */
  private readonly preflight: Preflight;
  private readonly guardrails: ManagedGuardrails;
  private readonly unwatch: (() => void)[] = [];

  constructor(
    private readonly config: ProxyReceiverConfig,
    private readonly settings: ComponentSettings<ReceiverTelemetry>,
    next: SpanConsumer,
    configuredPreflight: Preflight = allowAll,
  ) {
    this.telemetry = settings.telemetry;
    this.guardrails = new ManagedGuardrails(settings.logger, settings.id);
    this.preflight = new LayeredPreflight(configuredPreflight, (workspace) => this.guardrails.activeFor(workspace));
    this.failoverStatus = new Set(config.failover.on_status.filter((s) => ![400, 401, 403, 404, 422].includes(s)));
    this.rateLimits = new RateLimits(config.rate_limit);
    this.limiter = new InflightLimiter(config.max_inflight_bytes, config.max_receiving_bytes);
    this.health = new UpstreamHealth({
      windowMs: config.health.window_seconds * 1000,
      minRequests: config.health.min_requests,
      cooldownMs: config.health.cooldown_ms,
      maxSamples: config.health.max_samples,
    });
    this.queue = new SpanQueue(next, { maxSpans: config.span_queue.max_spans, retryMaxElapsedMs: config.span_queue.retry_max_elapsed_ms, lingerMs: config.span_queue.linger_ms }, settings.telemetry, settings.logger);
  }

  async start(host: Host): Promise<void> {
    const { config } = this;
    this.auth = receiverAuthenticator(config.auth, host.workspaces, this.settings.id);
    this.rateLimits.share(host.shared?.rateLimits);
    this.shareBreakers(host);
    const families = new Map<string, Family>();
    const defaults: Partial<Record<Family, string>> = { ...config.default_upstreams };
    for (const [id, upstream] of Object.entries(config.upstreams)) {
      const family: Family = upstream.provider === 'anthropic' ? 'anthropic' : 'openai';
      families.set(id, family);
      defaults[family] ??= id;
      const client = new UpstreamClient(
        upstream.base_url,
        { connectMs: config.timeouts.connect_ms, responseHeadersMs: config.timeouts.response_headers_ms, idleMs: config.timeouts.idle_ms, totalMs: config.timeouts.total_ms },
        { connections: config.pool.connections, keepAliveMs: config.pool.keep_alive_ms },
      );
      this.upstreams.set(id, { id, config: upstream, family, client, providerName: upstream.provider_name ?? (family === 'anthropic' ? 'anthropic' : 'openai') });
    }
    const routes = Object.fromEntries(
      Object.entries(config.routes).map(([id, r]) => [
        id,
        { primary: r.primary, fallbacks: r.fallbacks, models: r.models, conditions: { latencyThresholdMs: r.conditions.latency_threshold_ms, errorRateThreshold: r.conditions.error_rate_threshold } },
      ]),
    );
    const managedRoutes = new ManagedRoutes(new YamlFailoverPolicy(routes, defaults, families), families, this.settings.logger, this.settings.id);
    this.policy = managedRoutes;
    this.declareConfigObjects(host);
    this.unwatch.push(host.objects.watch('failover_policy', (objects) => managedRoutes.apply(objects)));
    this.unwatch.push(host.objects.watch('policy', (objects) => this.guardrails.apply(objects)));
    host.provide('upstreamHealth', { stateOf: (id) => (this.upstreams.has(id) ? this.health.report(id).state : undefined) });
    this.settings.telemetry.watchInflight?.(() => ({ held: this.limiter.inUse, receiving: this.limiter.receiving }));
    host.registerAdminAction(this.settings.id, 'health', async () => this.healthReport());
    this.telemetry.watchUpstreams?.(() => Object.fromEntries([...this.upstreams.keys()].map((id) => [id, this.health.report(id)])));
    this.listener = await host.acquireHttpListener(config.listen, this.settings.id, listenerOptionsOf(config));
    const router = this.listener.router;
    for (const route of LLM_ROUTES) router.all(route.path, (req, res) => this.track(req, res, route.api, () => this.handleCall(req, res, route)));
    router.get(MODELS_PATH, (req, res) => this.track(req, res, 'openai', () => this.handlePassthrough(req, res, 'openai')));
    for (const path of config.passthrough) router.all(path, (req, res) => this.track(req, res, 'openai', () => this.handlePassthrough(req, res, 'openai')));
    // Any other /v1/... path (no other receiver on this listener took it): the provider's own 404.
    this.listener.fallback.all(/^\/v1\//, (req, res) => {
      req.resume();
      const api = req.headers['anthropic-version'] !== undefined || req.path.startsWith('/v1/messages') ? 'messages' : 'openai';
      this.refuse(res, api, 404, api === 'messages' ? 'not_found_error' : 'invalid_request_error', 'unknown_url', `Unknown request URL: ${req.method} ${req.path}. This gateway serves ${[...LLM_ROUTES.map((r) => r.path), MODELS_PATH, ...config.passthrough].join(', ')}.`, 'unknown_url');
    });
    this.accepting = true;
  }

  /** The routes and the preflight of the YAML, shown read-only by the control plane. */
  private declareConfigObjects(host: Host): void {
    const { routes, preflight } = this.config;
    host.objects.declare(
      this.settings.id,
      'failover_policy',
      Object.entries(routes).map(([id, route]) => ({
        workspace: GLOBAL_WORKSPACE,
        id,
        spec: { route_id: id, primary_endpoint: route.primary, fallback_endpoints: route.fallbacks, conditions: route.conditions, status: 'active', ...(route.models.length > 0 ? { models: route.models } : {}) },
      })),
    );
    if (preflight) {
      host.objects.declare(this.settings.id, 'policy', [
        { workspace: GLOBAL_WORKSPACE, id: `${this.settings.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.preflight`, spec: { name: `preflight of ${this.settings.id} (pipelines.yaml)`, status: 'active', ...preflight } },
      ]);
    }
  }

  async shutdown(): Promise<void> {
    this.accepting = false;
    for (const stop of this.unwatch.splice(0)) stop();
    const { listener } = this;
    this.listener = undefined;
    const deadline = Date.now() + this.config.span_queue.drain_timeout_ms;
    await listener?.release();
    // Calls in flight end (and queue their spans) before the queue drains.
    const pending = [...this.inflight];
    if (pending.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(pending), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    await this.queue.drain(Math.max(1, deadline - Date.now()));
    await Promise.all([...this.upstreams.values()].map((u) => u.client.close().catch(() => undefined)));
    this.upstreams.clear();
  }

  /**
   * With shared state, a breaker opening or closing here opens or closes it on every instance
   * running this receiver, and open breakers are stored for instances that start later
   * (core/shared-state/breakers.ts).
   */
  private shareBreakers(host: Host): void {
    if (!host.shared) return;
    const scope = this.settings.id;
    shareBreakers(this.health, host.shared.broadcast(`gateway-breakers:${scope}`), host.shared.breakers(scope), { upstreams: Object.keys(this.config.upstreams), cooldownMs: this.config.health.cooldown_ms });
  }

  /** Health per upstream (healthy, degraded, open), as the admin action `health` answers. */
  healthReport(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const id of this.upstreams.keys()) out[id] = this.health.report(id);
    return { upstreams: out, span_queue: this.queue.size };
  }

  private track(req: Request, res: Response, api: LlmApi | 'openai', run: () => Promise<void>): void {
    const done = run()
      .catch((err: unknown) => {
        this.settings.logger.error({ err: errorMessage(err), path: req.path }, 'unexpected error in the proxy');
        if (!res.headersSent) res.status(500).json(errorEnvelope(api, { message: 'internal error in the gateway', type: serverErrorType(api), code: 'internal_error' }));
        else res.destroy();
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private refuse(res: Response, api: LlmApi | 'openai', status: number, type: string, code: string, message: string, outcome: string, extra: Record<string, unknown> = {}): void {
    this.telemetry.request(outcome);
    const body = errorEnvelope(api, { message, type, code }) as Json;
    if (isRecord(body.error)) Object.assign(body.error, extra);
    res.status(status).json(body);
  }

  /** Auth, rate limit, shutdown check; the workspace, or undefined when refused. */
  private async admit(req: Request, res: Response, api: LlmApi | 'openai', family: Family, routePath: string): Promise<{ workspace: string; credentials: Credentials } | undefined> {
    const credentials = credentialsOf(req.headers, family, this.auth.enabled);
    const who = this.auth.authenticate(credentials.workspaceHeaders);
    const unread = () => {
      res.set('Connection', 'close');
      req.resume();
    };
    if (who.outcome !== 'ok') {
      unread();
      res.set('WWW-Authenticate', 'Bearer');
      if (who.outcome === 'forbidden') this.refuse(res, api, 403, api === 'messages' ? 'permission_error' : 'invalid_request_error', 'forbidden', `this workspace key is not allowed on ${this.settings.id}`, 'permission_denied');
      else this.refuse(res, api, 401, api === 'messages' ? 'authentication_error' : 'invalid_request_error', 'invalid_api_key', who.outcome === 'missing' ? 'missing workspace key: send X-API-Key: <workspace key> or Authorization: Bearer <workspace key>' : 'invalid workspace key', 'unauthenticated');
      return undefined;
    }
    if (!who.roles.includes('ingest')) {
      unread();
      this.refuse(res, api, 403, api === 'messages' ? 'permission_error' : 'invalid_request_error', 'forbidden', 'this workspace key has no ingest role', 'permission_denied');
      return undefined;
    }
    const decision = this.rateLimits.enabled ? await this.rateLimits.take(who.principal, routePath) : undefined;
    if (decision?.unavailable) {
      unread();
      res.set('Retry-After', String(decision.retryAfterSeconds));
      this.refuse(res, api, 503, api === 'messages' ? 'overloaded_error' : 'server_error', 'shared_state_unavailable', 'the shared rate limit cannot be checked right now; retry later', 'shared_state_unavailable');
      return undefined;
    }
    if (decision && !decision.allowed) {
      unread();
      res.set(rateLimitHeaders(decision));
      this.telemetry.refused(0, 'rate_limited');
      this.refuse(res, api, 429, api === 'messages' ? 'rate_limit_error' : 'requests', 'rate_limit_exceeded', `workspace rate limit: at most ${decision.limit} requests per window on ${routePath}; retry after ${decision.retryAfterSeconds} s`, 'rate_limited');
      return undefined;
    }
    if (!this.accepting) {
      unread();
      res.set('Retry-After', '1');
      this.refuse(res, api, 503, api === 'messages' ? 'overloaded_error' : 'server_error', 'shutting_down', 'the gateway is shutting down; retry later', 'shutting_down');
      return undefined;
    }
    return { workspace: who.workspace ?? DEFAULT_WORKSPACE, credentials };
  }

  private async readRequestBody(req: Request, res: Response, api: LlmApi | 'openai'): Promise<Buffer | undefined> {
    const declared = Number(req.headers['content-length']);
    const known = Number.isFinite(declared) && declared >= 0;
    if (known && declared > this.config.max_request_body_bytes) {
      res.set('Connection', 'close');
      req.resume();
      this.refuse(res, api, 413, 'invalid_request_error', 'request_too_large', `request body exceeds max_request_body_bytes (${this.config.max_request_body_bytes} bytes)`, 'too_large');
      return undefined;
    }
    const reservation = this.limiter.admitBody(known ? declared : 0);
    if (!reservation) {
      res.set('Connection', 'close').set('Retry-After', '1');
      req.resume();
      this.refuse(res, api, 429, api === 'messages' ? 'overloaded_error' : 'server_error', 'overloaded', 'the gateway is at max_inflight_bytes; retry later', 'inflight_limit');
      return undefined;
    }
    try {
      return await readBody(req, { maxBytes: this.config.max_request_body_bytes, reservation, ...bodyTimeoutsOf(this.config) });
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      res.set('Connection', 'close');
      this.refuse(res, api, err.status, 'invalid_request_error', err.code.toLowerCase(), err.message, 'bad_body');
      return undefined;
    } finally {
      reservation.release();
    }
  }

  private contextOf(headers: IncomingHttpHeaders, workspace: string): CallContext {
    return {
      workspace,
      taskId: boundedId(headers['x-task-id']),
      conversationId: boundedId(headers['x-conversation-id']),
      userId: boundedId(headers['x-user-id']),
    };
  }

  private upstreamHeaders(req: Request, upstream: Upstream, credentials: Credentials): Record<string, string> {
    const headers = upstreamRequestHeaders(req.headers);
    if (credentials.providerHeader) {
      const [name, value] = providerCredentialFor(upstream.family, credentials.providerHeader);
      headers[name] = value;
    }
    else if (upstream.config.api_key !== '') {
      if (upstream.family === 'anthropic') headers['x-api-key'] = upstream.config.api_key;
      else headers.authorization = `Bearer ${upstream.config.api_key}`;
    }
    return headers;
  }

  private emit(spans: Span[], workspace: string, verdict: Attributes = {}): void {
    const { spans: stamped } = stampSpans(spans, { 'tracehouse.workspace': workspace, 'tracehouse.source': this.settings.id, ...verdict }, 'receiver');
    this.queue.push(stamped);
  }

  private async handleCall(req: Request, res: Response, route: LlmRoute): Promise<void> {
    const { api, family } = route;
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      req.resume();
      return this.refuse(res, api, 405, 'invalid_request_error', 'method_not_allowed', `method ${req.method} is not allowed; use POST`, 'method_not_allowed');
    }
    const startNanos = nowNanos();
    const started = performance.now();
    const admitted = await this.admit(req, res, api, family, route.path);
    if (!admitted) return;
    const { workspace, credentials } = admitted;
    const raw = await this.readRequestBody(req, res, api);
    if (raw === undefined) return;
    let body: Json;
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (!isRecord(parsed)) throw new Error('the body must be a JSON object');
      body = parsed;
    } catch (err) {
      return this.refuse(res, api, 400, 'invalid_request_error', 'invalid_json', `invalid JSON body: ${errorMessage(err)}`, 'bad_json');
    }
    const context = this.contextOf(req.headers, workspace);
    const model = typeof body.model === 'string' ? body.model : undefined;
    const stream = body.stream === true && api !== 'embeddings';
    const inputMessages = inputMessagesOf(api, body);
    const resolution = this.policy.resolve({ workspace, routeId: boundedId(req.headers['x-route-id']), model, family });
    if (!resolution.ok) {
      return resolution.reason === 'unknown_route'
        ? this.refuse(res, api, 400, 'invalid_request_error', 'unknown_route', resolution.message, 'unknown_route')
        : this.refuse(res, api, 502, 'api_error', 'no_upstream', resolution.message, 'no_upstream');
    }
    const plan = resolution.plan;
    context.routeId = plan.routeId;
    const record: CallRecord = {
      context,
      api,
      providerName: this.upstreams.get(plan.primaryEndpoint)?.providerName ?? family,
      requestModel: model,
      stream,
      startNanos,
      endNanos: startNanos,
      startedMs: started,
      upstreamWaitMs: 0,
      inputMessages,
      inputChars: raw.length,
      outcome: emptyOutcome(),
      attempts: [],
      cancelled: false,
      captureMessages: this.config.capture.messages,
      maxChars: this.config.capture.max_chars,
      requestParams: requestParams(body),
    };
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new ClientGone('the client went away'));
    };
    res.on('close', onClose);
    try {
      const checked = this.preflight.check({ workspace, api, model, body, inputMessages, bodyBytes: raw.length }, controller.signal);
      const decision = checked instanceof Promise ? await checked : checked;
      if (decision.action === 'block') {
        record.preflight = { blocked: true, findings: decision.findings, attributes: decision.attributes };
        if (decision.recordedBody) record.inputMessages = inputMessagesOf(api, decision.recordedBody);
        record.httpStatus = decision.status;
        this.refuse(res, api, decision.status, decision.status === 403 ? (api === 'messages' ? 'permission_error' : 'permission_denied') : 'invalid_request_error', 'blocked_by_policy', decision.message, 'blocked', { findings: decision.findings });
        return;
      }
      if (decision.action === 'rewrite') {
        body = decision.body;
        record.inputMessages = inputMessagesOf(api, body);
      }
      if (decision.attributes) record.preflight = { blocked: false, findings: [], attributes: decision.attributes };
      // Chat and completions streams ask for usage (unless the upstream's include_usage is off);
      // the client's stream stays as it asked (see streamAnswer).
      const clientAskedUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
      const addUsage = (api === 'chat' || api === 'completions') && stream && !clientAskedUsage;
      const bodies: UpstreamBodies = {
        plain: decision.action === 'rewrite' ? Buffer.from(JSON.stringify(body), 'utf8') : raw,
        withUsage: addUsage ? Buffer.from(JSON.stringify({ ...body, stream_options: { ...(isRecord(body.stream_options) ? body.stream_options : {}), include_usage: true } }), 'utf8') : undefined,
      };
      await this.forward(req, res, record, plan, credentials, bodies, controller.signal);
    } finally {
      res.off('close', onClose);
      if (controller.signal.aborted && controller.signal.reason instanceof ClientGone) record.cancelled = true;
      record.endNanos = nowNanos();
      if (record.ttftMs === undefined && record.outcome.firstContentAt !== undefined) record.ttftMs = record.outcome.firstContentAt - started;
      // A call the preflight refused is stored flagged (its only span: it never had an attempt).
      this.emit(callSpans(record), workspace, record.preflight?.blocked ? { 'tracehouse.verdict': 'flagged', 'tracehouse.verdict.severity': 'high' } : {});
      if (record.attempts.length > 0 && !record.preflight?.blocked) {
        this.preflight.settle?.({ workspace, api, model: record.outcome.responseModel ?? model, providerName: record.providerName, usage: usageOf(record).usage, status: record.httpStatus, bodyBytes: raw.length });
      }
    }
  }

  /**
   * Tries the plan's upstreams until one answers in a way that is not a failover case. Each
   * attempt claims its upstream's breaker right before it is sent, so a fallback that is never
   * called never holds its one half-open probe; a claimed probe always ends in record or release.
   */
  private async forward(req: Request, res: Response, record: CallRecord, plan: RoutePlan, credentials: Credentials, bodies: UpstreamBodies, signal: AbortSignal): Promise<void> {
    let probe: string | undefined;
    try {
      await this.attempts(req, res, record, plan, credentials, bodies, signal, (id) => (probe = id));
    } finally {
      // An attempt that ended without a verdict (an unexpected error) gives its probe back.
      if (probe !== undefined) this.health.release(probe);
    }
  }

  private async attempts(
    req: Request,
    res: Response,
    record: CallRecord,
    plan: RoutePlan,
    credentials: Credentials,
    bodies: UpstreamBodies,
    signal: AbortSignal,
    holdProbe: (id: string | undefined) => void,
  ): Promise<void> {
    const fo = this.config.failover;
    const { health } = this;
    const candidates = health.candidates(plan);
    // Every upstream open: the primary is called anyway, without claiming its breaker.
    const forced = !health.admissible(candidates[0], plan.conditions);
    const failoverStatus = this.failoverStatus;
    const upstreamPath = (req.path === '/api/proxy/openai/responses' ? '/v1/responses' : req.path) + queryOf(req.originalUrl);
    let waited = 0;
    const lastRetryAfter = new Map<string, number>();
    for (let n = 0; n < fo.max_attempts; n++) {
      const upstream = this.upstreams.get(candidates[Math.min(n, candidates.length - 1)]) as Upstream;
      // A repeat of an upstream already tried waits (Retry-After or backoff), within max_retry_wait_ms.
      if (n >= candidates.length) {
        const wait = Math.max(backoffMs(n - candidates.length + 1, fo.backoff_initial_ms, fo.backoff_max_ms), lastRetryAfter.get(upstream.id) ?? 0);
        if (waited + wait > fo.max_retry_wait_ms) break;
        waited += wait;
        const slept = await sleep(wait, signal);
        record.upstreamWaitMs += wait;
        if (!slept) return;
      }
      let isProbe = false;
      if (!forced) {
        const claim = health.claim(upstream.id, plan.conditions);
        // Its breaker opened (or another call took its probe) since the previous attempt.
        if (claim === 'refused') break;
        isProbe = claim === 'probe';
        if (isProbe) holdProbe(upstream.id);
      }
      const isLast = () => {
        if (n + 1 >= fo.max_attempts) return true;
        const nextId = candidates[Math.min(n + 1, candidates.length - 1)];
        if (!forced && !health.admissible(nextId, plan.conditions)) return true;
        if (n + 1 < candidates.length) return false;
        const wait = Math.max(backoffMs(n + 2 - candidates.length, fo.backoff_initial_ms, 0), lastRetryAfter.get(nextId) ?? 0);
        return waited + wait > fo.max_retry_wait_ms;
      };
      // The body with include_usage added, unless this upstream is configured not to get it.
      const stripUsage = bodies.withUsage !== undefined && upstream.config.include_usage;
      const upstreamBody = stripUsage ? (bodies.withUsage as Buffer) : bodies.plain;
      const attempt: AttemptRecord = { upstream: upstream.id, origin: upstream.client.origin, startNanos: nowNanos(), endNanos: 0n };
      record.attempts.push(attempt);
      record.upstream = upstream.id;
      record.providerName = upstream.providerName;
      const attemptStarted = performance.now();
      const finishAttempt = (ok: boolean, error?: string, ttftMs?: number) => {
        attempt.endNanos = nowNanos();
        if (error !== undefined) attempt.error = error;
        if (signal.aborted) {
          if (isProbe) health.release(upstream.id);
        } else health.record(upstream.id, { ok, latencyMs: performance.now() - attemptStarted, ttftMs }, isProbe);
        if (isProbe) holdProbe(undefined);
      };
      let answer: UpstreamResponse;
      try {
        answer = await upstream.client.send({ method: 'POST', path: upstreamPath, headers: this.upstreamHeaders(req, upstream, credentials), body: upstreamBody, signal });
      } catch (err) {
        record.upstreamWaitMs += performance.now() - attemptStarted;
        const kind = err instanceof UpstreamCallError ? err.kind : 'network';
        finishAttempt(false, kind);
        if (signal.aborted) return;
        // 'network': lost after the request was written; the provider may be running it, so it
        // is tried again only when on_network_error says so.
        const retryable = (kind === 'connect' && fo.on_connect_error) || (kind === 'headers_timeout' && fo.on_headers_timeout) || (kind === 'network' && fo.on_network_error);
        if (retryable && !isLast()) continue;
        record.failure = kind;
        const timeout = kind === 'headers_timeout' || kind === 'total_timeout';
        record.httpStatus = timeout ? 504 : 502;
        this.refuse(res, record.api, record.httpStatus, serverErrorType(record.api), `upstream_${kind}`, `upstream ${upstream.id}: ${errorMessage(err)}`, `upstream_${kind}`);
        return;
      }
      record.upstreamWaitMs += performance.now() - attemptStarted;
      attempt.status = answer.status;
      const retryAfter = retryAfterMs(answer.headers);
      if (retryAfter !== undefined) lastRetryAfter.set(upstream.id, retryAfter);
      if (failoverStatus.has(answer.status) && !isLast()) {
        answer.body.destroy();
        answer.done();
        finishAttempt(false, `status_${answer.status}`);
        continue;
      }
      const headers = {
        ...clientResponseHeaders(answer.headers),
        'x-tracehouse-upstream': upstream.id,
        'x-tracehouse-attempts': String(record.attempts.length),
      };
      record.httpStatus = answer.status;
      record.providerRequestId = firstHeader(answer.headers['x-request-id']) ?? firstHeader(answer.headers['request-id']);
      const contentType = String(answer.headers['content-type'] ?? '').toLowerCase();
      try {
        if (answer.status < 300 && contentType.startsWith('text/event-stream')) {
          const canFailOver = fo.on_error_event && !isLast();
          const result = await this.streamAnswer(res, record, answer, headers, stripUsage, canFailOver);
          const ttft = record.outcome.firstContentAt !== undefined ? record.outcome.firstContentAt - attemptStarted : undefined;
          if (result === 'failover') {
            record.outcome = emptyOutcome();
            record.httpStatus = undefined;
            finishAttempt(false, 'error_event', ttft);
            continue;
          }
          finishAttempt(result === 'ok', result === 'ok' ? undefined : result, ttft);
        } else {
          await this.jsonAnswer(res, record, answer, headers);
          finishAttempt(answer.status < 500 && !failoverStatus.has(answer.status), answer.status >= 400 ? `status_${answer.status}` : undefined);
        }
      } finally {
        answer.done();
      }
      return;
    }
    // Out of attempts or wait budget without an answer to forward.
    if (!res.headersSent && !signal.aborted) {
      record.failure = 'retries_exhausted';
      record.httpStatus = 502;
      this.refuse(res, record.api, 502, serverErrorType(record.api), 'upstream_unavailable', 'every upstream attempt failed', 'upstream_unavailable');
    }
  }

  /** A JSON (or any non-stream) answer: forwarded chunk by chunk, parsed on the side. */
  private async jsonAnswer(res: Response, record: CallRecord, answer: UpstreamResponse, headers: Record<string, string | string[]>): Promise<void> {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const limit = answer.status >= 400 ? MAX_ERROR_BODY_BYTES : MAX_JSON_PARSE_BYTES;
    // A small answer of known length goes out whole with its length: one write instead of a
    // chunked header, body and terminator (the client cannot use half a JSON document anyway).
    const declared = answer.decoded ? NaN : Number(firstHeader(answer.headers['content-length']));
    const whole = Number.isInteger(declared) && declared >= 0 && declared <= Math.min(MAX_WHOLE_ANSWER_BYTES, limit);
    // Headers are only set here: a body that breaks off before its first chunk is still answered 502.
    if (!whole) {
      res.statusCode = answer.status;
      setHeaders(res, { ...headers, 'x-tracehouse-overhead-ms': overheadOf(record) });
    }
    let mark = performance.now();
    try {
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        record.upstreamWaitMs += performance.now() - mark;
        if (keptBytes + chunk.length <= limit) {
          kept.push(chunk);
          keptBytes += chunk.length;
        } else keptBytes = limit + 1;
        if (!whole) await write(res, chunk);
        mark = performance.now();
      }
      if (whole) {
        if (res.destroyed) throw new ClientGone('the client went away');
        res.writeHead(answer.status, { ...headers, 'content-length': keptBytes, 'x-tracehouse-overhead-ms': overheadOf(record) });
        res.end(kept.length === 1 ? kept[0] : Buffer.concat(kept));
      }
    } catch (err) {
      if (err instanceof ClientGone) return;
      record.failure = bodyFailureKind(err);
      if (record.failure === 'aborted') return;
      if (!res.headersSent) {
        record.httpStatus = 502;
        // The 502 still says which upstream answered (and its request id), as before the body broke off.
        if (whole) setHeaders(res, headers);
        this.refuse(res, record.api, 502, serverErrorType(record.api), 'upstream_body_error', `the upstream answer broke off: ${record.failure}`, 'upstream_body_error');
      } else res.destroy();
      return;
    }
    if (!whole) res.end();
    this.telemetry.request(answer.status < 400 ? 'forwarded' : `upstream_${answer.status}`);
    if (keptBytes > limit) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(kept).toString('utf8'));
    } catch {
      return;
    }
    const outcome = outcomeOfJson(record.api, parsed);
    record.outcome = answer.status >= 400 ? { ...emptyOutcome(), error: outcome.error } : outcome;
  }

  /**
   * An SSE answer, written to the client as it arrives and read on the side. Until the first
   * content delta the bytes are held back (up to max_held_bytes and max_hold_ms), so that an error
   * event can still fail over with nothing sent. For a chat or completions stream whose client did
   * not ask for usage, the usage chunk and the `"usage":null` fields the option added are taken
   * out again, event by event.
   */
  private async streamAnswer(res: Response, record: CallRecord, answer: UpstreamResponse, headers: Record<string, string | string[]>, stripUsage: boolean, canFailOver: boolean): Promise<'ok' | 'failover' | string> {
    const framer = new SseFramer();
    const decoder = new SseDecoder();
    const reader = streamReaderFor(record.api, this.config.capture.max_chars);
    const held: Buffer[] = [];
    let heldBytes = 0;
    let committed = false;
    let mark = performance.now();
    // Synchronous, so that the hold timer and the reading loop cannot interleave inside it; what
    // is held is at most max_held_bytes, written without waiting for the client to drain it.
    const commit = () => {
      committed = true;
      clearTimeout(holdTimer);
      if (res.destroyed) return;
      res.writeHead(answer.status, { ...headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'x-tracehouse-overhead-ms': overheadOf(record) });
      res.socket?.setNoDelay(true);
      res.flushHeaders();
      for (const piece of held.splice(0)) res.write(piece);
      heldBytes = 0;
    };
    // A long silence before the first content delta (a reasoning model): past max_hold_ms the
    // stream is committed, so clients and intermediaries see headers; no failover after that.
    const holdTimer = setTimeout(() => {
      if (committed) return;
      record.upstreamWaitMs += performance.now() - mark;
      mark = performance.now();
      commit();
    }, this.config.failover.max_hold_ms);
    const emit = async (bytes: Buffer) => {
      if (committed) return write(res, bytes);
      held.push(bytes);
      heldBytes += bytes.length;
    };
    const onPiece = (bytes: Buffer, whole: boolean): { verdict: EventVerdict | undefined; out: Buffer | undefined } => {
      const event = whole ? decoder.decode(bytes) : undefined;
      const verdict = event ? reader.onEvent(event) : undefined;
      if (!stripUsage || !verdict) return { verdict, out: bytes };
      if (verdict.usageChunk) return { verdict, out: undefined };
      if (verdict.usageNull) return { verdict, out: withoutUsageNull(bytes) };
      return { verdict, out: bytes };
    };
    let failure: string | undefined;
    try {
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        if (!committed) record.upstreamWaitMs += performance.now() - mark;
        let content = false;
        let error = false;
        if (!stripUsage) await emit(chunk);
        for (const piece of framer.push(chunk)) {
          const { verdict, out } = onPiece(piece.bytes, piece.whole);
          if (verdict?.content) content = true;
          if (verdict?.error && !committed && !reader.result().hasContent) error = true;
          if (stripUsage && out) await emit(out);
        }
        if (!committed) {
          if (error && canFailOver) {
            answer.body.destroy();
            return 'failover';
          }
          if (content || error || heldBytes > this.config.failover.max_held_bytes) commit();
        }
        mark = performance.now();
      }
      const rest = framer.end();
      if (rest) {
        const { out } = onPiece(rest.bytes, rest.whole);
        if (stripUsage && out) await emit(out);
      }
    } catch (err) {
      failure = err instanceof ClientGone ? 'aborted' : bodyFailureKind(err);
    } finally {
      clearTimeout(holdTimer);
    }
    record.outcome = reader.result();
    if (record.outcome.firstContentAt !== undefined) record.ttftMs = record.outcome.firstContentAt - record.startedMs;
    if (failure === 'aborted') return 'aborted';
    if (failure !== undefined) {
      record.failure = failure;
      if (!committed && canFailOver) return 'failover';
      if (!committed) {
        record.httpStatus = 502;
        this.refuse(res, record.api, 502, serverErrorType(record.api), 'upstream_stream_error', `the upstream stream broke off before any output: ${failure}`, 'upstream_stream_error');
      } else res.destroy();
      return failure;
    }
    if (!committed) commit();
    res.end();
    this.telemetry.request('forwarded_stream');
    if (record.outcome.error) return 'error_event';
    if (!record.outcome.complete) record.failure = 'stream_incomplete';
    return record.outcome.complete ? 'ok' : 'stream_incomplete';
  }

  /** Any other /v1/... route of `passthrough` (and GET /v1/models): forwarded verbatim, recorded as an HTTP client span. */
  private async handlePassthrough(req: Request, res: Response, family: Family): Promise<void> {
    const startNanos = nowNanos();
    const admitted = await this.admit(req, res, 'openai', family, req.path);
    if (!admitted) return;
    const { workspace, credentials } = admitted;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const raw = hasBody ? await this.readRequestBody(req, res, 'openai') : undefined;
    if (hasBody && raw === undefined) return;
    const context = this.contextOf(req.headers, workspace);
    const resolution = this.policy.resolve({ workspace, routeId: boundedId(req.headers['x-route-id']), family });
    if (!resolution.ok) return this.refuse(res, 'openai', resolution.reason === 'unknown_route' ? 400 : 502, 'invalid_request_error', resolution.reason, resolution.message, resolution.reason);
    const upstream = this.upstreams.get(resolution.plan.primaryEndpoint) as Upstream;
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new ClientGone('the client went away'));
    };
    res.on('close', onClose);
    let status: number | undefined;
    let failure: string | undefined;
    try {
      const answer = await upstream.client.send({ method: req.method, path: req.path + queryOf(req.originalUrl), headers: this.upstreamHeaders(req, upstream, credentials), body: raw, signal: controller.signal });
      status = answer.status;
      res.status(answer.status).set(passthroughResponseHeaders(answer.headers)).set('x-tracehouse-upstream', upstream.id);
      try {
        for await (const chunk of answer.body as AsyncIterable<Buffer>) await write(res, chunk);
        res.end();
      } catch (err) {
        failure = bodyFailureKind(err);
        res.destroy();
      } finally {
        answer.done();
      }
    } catch (err) {
      failure = err instanceof UpstreamCallError ? err.kind : 'network';
      if (!controller.signal.aborted) this.refuse(res, 'openai', 502, 'server_error', `upstream_${failure}`, `upstream ${upstream.id}: ${errorMessage(err)}`, `upstream_${failure}`);
    } finally {
      res.off('close', onClose);
    }
    const cancelled = controller.signal.aborted;
    this.emit([httpSpan({ context, method: req.method, path: req.path, upstream: upstream.id, origin: upstream.client.origin, status, failure: cancelled ? undefined : failure, cancelled, startNanos, endNanos: nowNanos() })], workspace);
  }
}

/** Request parameters worth a span attribute (GenAI conventions). */
function requestParams(body: Json): Record<string, number | bigint | string> {
  const out: Record<string, number | bigint | string> = {};
  const num = (key: string, attr: string) => {
    const v = body[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[attr] = Number.isSafeInteger(v) ? BigInt(v) : v;
  };
  num('temperature', 'gen_ai.request.temperature');
  num('top_p', 'gen_ai.request.top_p');
  num('max_tokens', 'gen_ai.request.max_tokens');
  num('max_completion_tokens', 'gen_ai.request.max_tokens');
  num('max_output_tokens', 'gen_ai.request.max_tokens');
  if (typeof out['gen_ai.request.temperature'] === 'bigint') out['gen_ai.request.temperature'] = Number(out['gen_ai.request.temperature']);
  if (typeof out['gen_ai.request.top_p'] === 'bigint') out['gen_ai.request.top_p'] = Number(out['gen_ai.request.top_p']);
  return out;
}

/** The forms of `"usage":null` withoutUsageNull takes out, as bytes (searched without decoding the event). */
const USAGE_NULL = [',"usage":null', '"usage":null,', ', "usage": null', '"usage": null, '].map((text) => Buffer.from(text, 'utf8'));

/**
 * A chat chunk without the `"usage":null` member that include_usage added: the last occurrence
 * of the compact form the provider writes (string contents escape their quotes, so the text
 * cannot come from inside a string). Left as it is when not found.
 */
export function withoutUsageNull(event: Buffer): Buffer {
  for (const needle of USAGE_NULL) {
    const at = event.lastIndexOf(needle);
    if (at !== -1) return Buffer.concat([event.subarray(0, at), event.subarray(at + needle.length)]);
  }
  return event;
}

/** The query string of a request target, with its "?" ('' when none). */
function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at);
}

/** The error type of a failure on the gateway's side, in the API's own words (Anthropic: api_error). */
function serverErrorType(api: LlmApi | 'openai'): string {
  return api === 'messages' ? 'api_error' : 'server_error';
}

/** The provider's answer headers as they are (express's res.set would rewrite Content-Type). */
function setHeaders(res: Response, headers: Record<string, string | string[]>): void {
  for (const name in headers) res.setHeader(name, headers[name]);
}

/**
 * The gateway's own time in a call so far, in ms (3 decimals): since the call arrived, minus the
 * time spent waiting on upstreams. Sent as x-tracehouse-overhead-ms with the answer's headers.
 */
function overheadOf(record: CallRecord): string {
  return Math.max(0, performance.now() - record.startedMs - record.upstreamWaitMs).toFixed(3);
}

/** Writes with back-pressure; rejects with ClientGone when the client went away. */
function write(res: Response, chunk: Buffer): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.reject(new ClientGone('the client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new ClientGone('the client went away'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

