import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Request, Response } from 'express';
import { ApiKeyAuth } from './auth';
import type { AuthConfig } from './auth';
import type { AdminAction, QueryBackend, QueryLimits } from './component';
import { errorMessage, isPermanent } from './errors';
import { BodyError, readBody } from './http-body';
import { closeServer, trackRequests } from './http-host';
import { guardMiddleware, RequestGuard } from './http-guard';
import { ActionToken } from './action-token';
import { capConnections, DEFAULT_MAX_CONNECTIONS } from './connection-cap';
import { RateLimitedWarn } from './rate-limited-warn';
import { parseListen } from './listen';
import type { Logger } from './logger';
import { QueryRefusedError } from './clickhouse/query-guard';
import type { ListenerTelemetry, Telemetry } from './telemetry';

export interface AdminServerOptions {
  listen: string;
  auth: AuthConfig | undefined;
  queryLimits: QueryLimits;
  /** Analyst statements running at once; more are answered 503 with Retry-After. */
  maxConcurrentQueries: number;
  telemetry: Telemetry;
  logger: Logger;
  queryBackend: () => QueryBackend | undefined;
  /** Operator actions components registered, by "owner/name". */
  action: (owner: string, name: string) => AdminAction | undefined;
  healthy: () => boolean;
  /** Host rules, connection cap and timeouts of the listener (defaults: ADMIN_LISTENER_DEFAULTS). */
  listener?: AdminListenerOptions;
}

export interface AdminListenerOptions {
  allowedHosts?: readonly string[];
  maxConnections?: number;
  headersTimeoutMs?: number;
  /** Must exceed the query timeout. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

/**
 * Timeouts of the admin listener: headers within 10 s, a whole request within 40 s (the default
 * 30 s query timeout plus 10 s), idle keep-alive connections closed after 5 s; checked every second.
 */
export const ADMIN_LISTENER_DEFAULTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 40_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 1_000,
} as const;

const MAX_QUERY_BYTES = 1024 * 1024;

/** ClickHouse exception codes used in answers, so ClickHouse clients show familiar errors. */
const CH_READONLY = 164;
const CH_AUTH = 516;
const CH_ACCESS_DENIED = 497;
const CH_BAD_ARGUMENTS = 36;
const CH_NO_STORE = 999;
const CH_SYNTAX_ERROR = 62;
const CH_TIMEOUT = 159;
const CH_TOO_MANY_QUERIES = 202;

/** How long past its time limit a statement may take before its client is answered anyway. */
const QUERY_BACKSTOP_MS = 10_000;

/**
 * The admin listener: /healthz, /metrics (Prometheus text) and a read-only subset of the
 * ClickHouse HTTP interface over whichever store the exporters registered.
 */
export class AdminServer {
  private server: http.Server | undefined;
  private readonly auth: ApiKeyAuth;
  /** Set at start when the listener has no auth: what POST /actions/... must present. */
  private token: ActionToken | undefined;
  private runningQueries = 0;

  constructor(private readonly options: AdminServerOptions) {
    this.auth = new ApiKeyAuth(options.auth);
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The operator-action token of this start, when the listener has no auth (else undefined). */
  get actionToken(): string | undefined {
    return this.token?.value;
  }

  async start(): Promise<void> {
    const addr = parseListen(this.options.listen);
    if (!addr) throw new Error(`invalid admin listen address "${this.options.listen}"`);
    const app = express();
    app.disable('x-powered-by');
    const listenerOptions = this.options.listener ?? {};
    // Foreign Host (DNS rebinding) and cross-site browser requests are refused before anything else.
    const guard = new RequestGuard(addr.host, () => this.port, listenerOptions.allowedHosts);
    let listenerTelemetry: ListenerTelemetry | undefined;
    const refusedWarning = new RateLimitedWarn(this.options.logger, 'refused admin requests for a foreign Host or from another site (DNS rebinding or a web page?)');
    app.use(
      guardMiddleware(guard, (req, res, refusal) => {
        listenerTelemetry?.refusedRequest(refusal.reason);
        refusedWarning.warn({ reason: refusal.reason, host: req.headers.host, origin: req.headers.origin });
        res.status(refusal.status).set('X-ClickHouse-Exception-Code', String(CH_ACCESS_DENIED)).type('text/plain');
        res.send(clickhouseError(CH_ACCESS_DENIED, `${refusal.message} [${refusal.code}]`, 'ACCESS_DENIED'));
      }),
    );
    app.get('/healthz', (_req, res) => {
      const ok = this.options.healthy();
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'shutting_down' });
    });
    app.use((req, res, next) => {
      const { outcome } = this.auth.authenticate(req.headers);
      if (outcome === 'ok') return next();
      res.status(401).set('WWW-Authenticate', 'Bearer').type('text/plain');
      res.send(clickhouseError(CH_AUTH, `authentication ${outcome === 'missing' ? 'required' : 'failed'}: send the API key as a Bearer token, X-API-Key, or the ClickHouse password`, 'AUTHENTICATION_FAILED'));
    });
    app.get('/metrics', (_req, res, next) => {
      this.options.telemetry
        .metricsText()
        .then((text) => res.type(this.options.telemetry.contentType).send(text))
        .catch(next);
    });
    app.get('/ping', (_req, res) => res.type('text/plain').send('Ok.\n'));
    // Component ids may contain a slash (alert/oncall): the last segment names the action.
    app.post('/actions/*path', (req, res) => void this.runAction(req, res));
    // GET never has side effects: actions are POST only.
    app.all('/actions/*path', (req, res) => {
      res.status(405).set('Allow', 'POST').json({ ok: false, error: `method ${req.method} is not allowed on actions; use POST` });
    });
    app.get('/', (req, res) => void this.query(req, res));
    app.post('/', (req, res) => void this.query(req, res));
    this.server = http.createServer(
      {
        headersTimeout: listenerOptions.headersTimeoutMs ?? ADMIN_LISTENER_DEFAULTS.headersTimeoutMs,
        requestTimeout: listenerOptions.requestTimeoutMs ?? ADMIN_LISTENER_DEFAULTS.requestTimeoutMs,
        keepAliveTimeout: listenerOptions.keepAliveTimeoutMs ?? ADMIN_LISTENER_DEFAULTS.keepAliveTimeoutMs,
        connectionsCheckingInterval: ADMIN_LISTENER_DEFAULTS.connectionsCheckingIntervalMs,
      },
      app,
    );
    trackRequests(this.server);
    this.server.listen(addr.port, addr.host);
    await once(this.server, 'listening');
    const listener = `admin ${addr.host}:${this.port}`;
    listenerTelemetry = this.options.telemetry.forListener(listener);
    capConnections(this.server, {
      listener,
      maxConnections: listenerOptions.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      telemetry: listenerTelemetry,
      logger: this.options.logger,
    });
    this.options.logger.info({ listen: `${addr.host}:${this.port}` }, 'admin listener started');
    if (!this.auth.enabled) {
      this.token = new ActionToken();
      this.options.logger.info(
        { action_token: this.token.value },
        `admin actions (POST /actions/...) need this start's token, as Authorization: Bearer <token> or X-Tracehouse-Action-Token: <token> (the admin listener has no auth): ${this.token.value}`,
      );
    }
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await closeServer(server);
  }

  /** POST /actions/<owner>/<name>: a JSON object in, `{"ok": true, "result": ...}` or `{"ok": false, "error"}` out. */
  private async runAction(req: Request, res: Response): Promise<void> {
    // Checked before anything is read or looked up. With auth configured, the key was checked already.
    if (!this.auth.enabled && !this.token?.matches(req.headers)) {
      res.set('Connection', 'close');
      req.resume();
      res.status(401).set('WWW-Authenticate', 'Bearer').json({
        ok: false,
        code: 'ADM_ACTION_TOKEN_REQUIRED',
        error: 'operator actions need the action token the daemon logged at start, as Authorization: Bearer <token> or X-Tracehouse-Action-Token',
      });
      return;
    }
    const raw = (req.params as Record<string, unknown>).path;
    const segments = Array.isArray(raw) ? raw.map(String) : String(raw ?? '').split('/');
    const name = segments.pop() ?? '';
    const owner = segments.join('/');
    const action = this.options.action(owner, name);
    if (!action) {
      res.status(404).json({ ok: false, error: `no action "${name}" registered by "${owner}"` });
      return;
    }
    let params: unknown;
    try {
      const body = (await readBody(req, { maxBytes: MAX_QUERY_BYTES })).toString('utf8');
      params = body.trim() === '' ? {} : JSON.parse(body);
    } catch (err) {
      res.status(400).json({ ok: false, error: `the body must be a JSON object: ${errorMessage(err)}` });
      return;
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      res.status(400).json({ ok: false, error: 'the body must be a JSON object' });
      return;
    }
    const controller = new AbortController();
    // 'close' on the response before it finished is a client that went away.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      const result = await action(params as Record<string, unknown>, controller.signal);
      res.status(200).json({ ok: true, result: result ?? null });
    } catch (err) {
      const status = isPermanent(err) ? 400 : 502;
      this.options.logger.warn({ err: errorMessage(err), owner, action: name }, 'admin action failed');
      res.status(status).json({ ok: false, error: errorMessage(err) });
    }
  }

  private async query(req: Request, res: Response): Promise<void> {
    const fail = (status: number, code: number, message: string, name: string): void => {
      res.status(status).set('X-ClickHouse-Exception-Code', String(code)).type('text/plain');
      res.send(clickhouseError(code, message, name));
    };
    let sql: string;
    try {
      const body = req.method === 'POST' ? (await readBody(req, { maxBytes: MAX_QUERY_BYTES })).toString('utf8') : '';
      const param = typeof req.query.query === 'string' ? req.query.query : '';
      // As in ClickHouse: the URL parameter comes first and the body continues it.
      sql = [param, body].filter((s) => s.trim() !== '').join('\n');
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      return fail(status, CH_BAD_ARGUMENTS, errorMessage(err), 'BAD_ARGUMENTS');
    }
    const backend = this.options.queryBackend();
    if (!backend) return fail(503, CH_NO_STORE, 'no exporter with a queryable store is running', 'NOT_AVAILABLE');
    const limits = this.options.queryLimits;
    if (this.runningQueries >= this.options.maxConcurrentQueries) {
      res.set('Retry-After', '1');
      return fail(503, CH_TOO_MANY_QUERIES, `too many queries at once (max_concurrent_queries ${this.options.maxConcurrentQueries}); retry shortly`, 'TOO_MANY_SIMULTANEOUS_QUERIES');
    }
    const database = typeof req.query.database === 'string' ? req.query.database : undefined;
    const defaultFormat = typeof req.query.default_format === 'string' ? req.query.default_format : 'TabSeparated';
    // The slot is held until the engine has really finished, not only until the client is answered:
    // the engine's own limits stop a heavy statement, so slots bound the engine threads analysts use.
    this.runningQueries += 1;
    const running = backend.query({ sql, defaultFormat, database, limits });
    void running.then(
      () => (this.runningQueries -= 1),
      () => (this.runningQueries -= 1),
    );
    let backstop: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>((resolve) => {
      backstop = setTimeout(() => resolve('overdue'), limits.timeoutMs + QUERY_BACKSTOP_MS);
    });
    try {
      const result = await Promise.race([running, overdue]);
      if (result === 'overdue') {
        return fail(504, CH_TIMEOUT, `the query did not finish within query_timeout_ms (${limits.timeoutMs} ms)`, 'TIMEOUT_EXCEEDED');
      }
      res.status(200).set('X-ClickHouse-Format', result.format).type(contentTypeFor(result.format)).send(result.body);
    } catch (err) {
      if (err instanceof QueryRefusedError) {
        this.options.logger.debug({ err: err.message }, 'query refused');
        return err.kind === 'syntax'
          ? fail(400, CH_SYNTAX_ERROR, err.message, 'SYNTAX_ERROR')
          : fail(403, CH_READONLY, `Tracehouse query endpoint is read-only: ${err.message}`, 'READONLY');
      }
      const message = errorMessage(err);
      const code = Number(/Code: (\d+)/.exec(message)?.[1] ?? 0);
      if (code === 0) {
        this.options.logger.warn({ err: message }, 'query failed');
        return fail(503, CH_NO_STORE, message, 'NOT_AVAILABLE');
      }
      // Query errors are the analyst's, so they are logged at debug only.
      this.options.logger.debug({ err: message }, 'query failed');
      res.status(400).set('X-ClickHouse-Exception-Code', String(code)).type('text/plain').send(message.endsWith('\n') ? message : `${message}\n`);
    } finally {
      clearTimeout(backstop);
    }
  }
}

function clickhouseError(code: number, message: string, name: string): string {
  return `Code: ${code}. DB::Exception: ${message}. (${name})\n`;
}

function contentTypeFor(format: string): string {
  if (/^JSON/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV|CSV|Pretty|Vertical|Markdown)/i.test(format)) return 'text/plain; charset=UTF-8';
  return 'application/octet-stream';
}
