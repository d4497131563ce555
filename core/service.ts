import { AdminServer } from './admin-server';
import { signingKeyFor } from './signing-key';
import { ObjectCatalog } from './control/catalog';
import { isTraceStore } from './component';
import type { AdminAction, Component, Host, HttpListener, HttpListenerOptions, QueryBackend } from './component';
import type { ResolvedConfig } from './config/load-config';
import { CapabilityRegistry } from './capabilities';
import { RedisSharedState } from './shared-state/index';
import { errorMessage } from './errors';
import { HttpHost } from './http-host';
import type { Logger } from './logger';
import { buildPipelineGraph } from './pipeline-graph';
import type { PipelineGraph } from './pipeline-graph';
import { Telemetry } from './telemetry';
import { WorkspaceDirectory } from './workspaces';

export interface ServiceOptions {
  logger: Logger;
  /** Run only these pipelines; all when absent. */
  pipelines?: readonly string[];
}

/**
 * A running daemon: the pipeline graph, the shared HTTP listeners and the admin listener.
 * Exporters start first and receivers last; shutdown goes the other way, so that intake stops
 * before the exporters flush.
 */
export class Service {
  readonly telemetry = new Telemetry();
  readonly graph: PipelineGraph;
  /** The pipelines this daemon runs (all, or those --pipelines selected). */
  readonly pipelineNames: readonly string[];
  private readonly httpHost: HttpHost;
  private readonly admin: AdminServer;
  private readonly queryBackends: { owner: string; backend: QueryBackend }[] = [];
  private readonly adminActions = new Map<string, AdminAction>();
  private readonly started: Component[] = [];
  /** The control-plane objects every component sees through the host. */
  readonly objects: ObjectCatalog;
  /** Redis-backed state shared by every instance, when configured. */
  private shared: RedisSharedState | undefined;
  /** Signing keys made up at start when there is no secrets key (core/signing-key.ts). */
  private readonly signingKeys = new Map<string, Buffer>();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly options: ServiceOptions,
  ) {
    const names = Object.keys(config.service.pipelines).filter(
      (p) => !options.pipelines?.length || options.pipelines.includes(p),
    );
    this.pipelineNames = names;
    this.graph = buildPipelineGraph(config, names, options.logger, this.telemetry);
    this.httpHost = new HttpHost(options.logger.child({ component: 'service' }), this.telemetry);
    this.objects = new ObjectCatalog({
      logger: options.logger.child({ component: 'control_plane' }),
      refreshIntervalMs: config.service.control_plane.refresh_interval_ms,
      secretsKey: config.service.control_plane.secrets_key,
    });
    this.admin = new AdminServer({
      listen: config.service.admin.listen,
      auth: config.service.admin.auth,
      listener: {
        allowedHosts: config.service.admin.allowed_hosts,
        maxConnections: config.service.admin.max_connections,
        headersTimeoutMs: config.service.admin.headers_timeout_ms,
        // Longer than a query may run, whatever the query timeout is set to.
        requestTimeoutMs: config.service.admin.request_timeout_ms ?? config.service.admin.query_timeout_ms + 10_000,
        keepAliveTimeoutMs: config.service.admin.keep_alive_timeout_ms,
      },
      queryLimits: {
        timeoutMs: config.service.admin.query_timeout_ms,
        maxMemoryBytes: config.service.admin.query_limits.max_memory_bytes,
        maxRowsToRead: config.service.admin.query_limits.max_rows_to_read,
        maxResultBytes: config.service.admin.query_limits.max_result_bytes,
        maxThreads: config.service.admin.query_limits.max_threads,
      },
      maxConcurrentQueries: config.service.admin.query_limits.max_concurrent_queries,
      telemetry: this.telemetry,
      logger: options.logger.child({ component: 'admin' }),
      queryBackend: () => this.queryBackends[0]?.backend,
      action: (owner: string, name: string) => this.adminActions.get(`${owner}/${name}`),
      healthy: () => this.state === 'running',
    });
  }

  /** Whether the shared state (Redis) is configured and reachable now. */
  get sharedStateReady(): boolean {
    return this.shared?.redis.available ?? false;
  }

  get adminPort(): number {
    return this.admin.port;
  }

  /** The token `POST /actions/...` needs when the admin listener has no `auth` (printed at start). */
  get adminActionToken(): string | undefined {
    return this.admin.actionToken;
  }

  /** The port a receiver's listener is bound to (tests bind port 0). */
  readonly listenerPorts = new Map<string, number>();

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`service cannot start from state ${this.state}`);
    const workspaces = new WorkspaceDirectory(this.config.workspaces);
    const capabilities = new CapabilityRegistry();
    if (this.config.sharedState) {
      this.shared = new RedisSharedState(this.config.sharedState, this.options.logger.child({ component: 'shared_state' }), { unavailable: (feature) => this.telemetry.sharedStateUnavailable(feature) });
      this.shared.start();
    }
    const host: Host = {
      acquireHttpListener: async (listen: string, owner: string, options?: HttpListenerOptions): Promise<HttpListener> => {
        const listener = await this.httpHost.acquire(listen, owner, options);
        this.listenerPorts.set(owner, listener.port);
        return listener;
      },
      registerQueryBackend: (owner: string, backend: QueryBackend) => {
        this.queryBackends.push({ owner, backend });
      },
      workspaces,
      registerAdminAction: (owner: string, name: string, action: AdminAction) => {
        this.adminActions.set(`${owner}/${name}`, action);
      },
      store: (owner?: string) => {
        const found = this.queryBackends.find((b) => owner === undefined || b.owner === owner)?.backend;
        return found && isTraceStore(found) ? found : undefined;
      },
      objects: this.objects,
      shared: this.shared,
      provide: (name, implementation) => capabilities.provide(name, implementation),
      capability: (name) => capabilities.get(name),
      signingKey: (purpose: string) => signingKeyFor(this.config.service.control_plane.secrets_key, purpose, this.signingKeys),
    };
    const startAll = async (components: Iterable<[string, Component]>) => {
      for (const [id, component] of components) {
        this.started.push(component);
        await component.start(host).catch((err: unknown) => {
          throw new Error(`${id} failed to start: ${errorMessage(err)}`, { cause: err });
        });
      }
    };
    try {
      await startAll(this.graph.exporters);
      // The object store lives beside the spans: attached once the exporters opened their stores.
      await this.objects.attach(this.controlPlaneStore(host)).catch((err: unknown) => {
        throw new Error(`the control-plane object store failed to open: ${errorMessage(err)}`, { cause: err });
      });
      // Keys issued and revoked over HTTP (the api_key kind) apply on every daemon.
      this.objects.watch('api_key', (keys) =>
        workspaces.setManagedKeys(keys.map((k) => ({ workspace: k.workspace, sha256: String(k.spec.sha256 ?? ''), roles: k.spec.roles as never, revoked: k.spec.revoked === true }))),
      );
      await startAll(
        [...this.graph.processors.entries()].flatMap(([pipeline, chain]) =>
          chain.map((p, i): [string, Component] => [`${this.config.service.pipelines[pipeline].processors[i]} (pipeline ${pipeline})`, p]),
        ),
      );
      await startAll(this.graph.receivers);
      await startAll(this.graph.extensions);
      this.objects.announceChanges(this.shared?.broadcast('control-plane-changes'));
      if (this.shared) {
        const shared = this.shared;
        this.objects.lockWrites((name, ttlMs, waitMs) => shared.lock(name, ttlMs, waitMs), shared.lockPolicy);
      }
      this.objects.startRefresh();
      await this.admin.start();
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    this.state = 'running';
    this.options.logger.info(
      { pipelines: this.pipelineNames, admin: this.config.service.admin.listen },
      'tracehouse started',
    );
  }

  /** Stops intake, drains in-flight work and flushes exporters. Safe to call more than once. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private controlPlaneStore(host: Host) {
    const owner = this.config.service.control_plane.store;
    const store = host.store(owner);
    if (owner !== undefined && !store) throw new Error(`service.control_plane.store: exporter "${owner}" has no ClickHouse store`);
    return store;
  }

  private async stop(): Promise<void> {
    this.state = 'stopping';
    await this.objects.stop();
    for (const component of [...this.started].reverse()) {
      try {
        await component.shutdown();
      } catch (err) {
        this.options.logger.error({ err: errorMessage(err) }, 'component failed to shut down cleanly');
      }
    }
    await this.admin.shutdown();
    await this.shared?.stop();
    this.state = 'stopped';
    this.options.logger.info('tracehouse stopped');
  }
}
