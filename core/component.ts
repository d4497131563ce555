import type { Router } from 'express';
import type { z } from 'zod';
import type { ReceiverAuthConfig } from './auth';
import type { ControlObjects } from './control/catalog';
import type { SharedState } from './shared-state/index';
import type { Capabilities, CapabilityName } from './capabilities';
import type { ConsumeResult } from './evaluation';
import type { Logger } from './logger';
import type { SpanBatch } from './span';
import type { ExporterTelemetry, ProcessorTelemetry, ReceiverTelemetry } from './telemetry';
import type { WorkspaceDirectory } from './workspaces';

/** Every receiver, processor and exporter. */
export interface Component {
  /** Returns quickly; background work runs under the component's own AbortController. */
  start(host: Host): Promise<void>;
  /** Stops intake and flushes. Safe to call twice, and without start. */
  shutdown(): Promise<void>;
}

/**
 * Resolving means every downstream exporter has durably accepted the batch. Rejecting means it did
 * not: a PermanentError when retrying the same data cannot succeed, anything else is retryable.
 * The result carries what the pipeline learned about the spans (rule verdicts), for receivers that
 * answer with it; processors pass on what their `next` resolved with.
 */
export interface SpanConsumer {
  consume(batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void>;
}

/**
 * Hands a batch on and answers the consumer's promise, a synchronous throw included. Callers that
 * wait for it in an async function of their own should get the promise from a plain function
 * like this one: V8 keeps an async function's arguments and locals alive across every await,
 * which would hold the batch until its insert ends and make the young-generation collector copy
 * it twice.
 */
export function handOn(next: SpanConsumer, batch: SpanBatch, signal: AbortSignal): Promise<ConsumeResult | void> {
  try {
    return next.consume(batch, signal);
  } catch (err) {
    return Promise.reject(err);
  }
}

export type Receiver = Component;
/** A component outside pipelines (control plane, read APIs): it may mount routes on a shared listener. */
export type Extension = Component;
export interface Processor extends Component, SpanConsumer {}
export interface Exporter extends Component, SpanConsumer {}

/** A read-only view of stored data that the admin listener's query endpoint serves. */
export interface QueryBackend {
  /**
   * Runs one analyst statement after checking it is a plain read of the store (rejecting with a
   * QueryRefusedError otherwise); the statement's FORMAT clause (if any) decides the output.
   */
  query(request: QueryRequest): Promise<QueryResult>;
}

export interface QueryRequest {
  sql: string;
  /** Format used when the statement has no FORMAT clause (ClickHouse HTTP default: TabSeparated). */
  defaultFormat: string;
  database?: string;
  /** Enforced by the engine itself, so a heavy statement is really stopped, not only abandoned. */
  limits: QueryLimits;
}

/** Bounds of one analyst statement (service.admin.query_limits). */
export interface QueryLimits {
  timeoutMs: number;
  maxMemoryBytes: number;
  maxRowsToRead: number;
  maxResultBytes: number;
  maxThreads: number;
}

export interface QueryResult {
  body: Buffer;
  /** The output format ClickHouse used, e.g. JSON or TabSeparated. */
  format: string;
}

/** What a receiver asks of the listener it shares (core/http-host.ts combines the owners' asks). */
export interface HttpListenerOptions {
  /** Host names (besides its own addresses) the listener answers; see core/http-guard.ts. */
  allowedHosts?: readonly string[];
  /** Connections held at once; the listener uses the smallest its owners ask for. */
  maxConnections?: number;
}

/** A shared HTTP listener: receivers on the same address mount their routes on one server. */
export interface HttpListener {
  readonly router: Router;
  /**
   * Routes tried only after no receiver's route matched: a protocol's own "not found" for its
   * path space (the gateway answers unknown /v1/... paths in OpenAI's envelope).
   */
  readonly fallback: Router;
  /** Actual bound port (useful with port 0 in tests). */
  readonly port: number;
  release(): Promise<void>;
}

/**
 * The store an exporter writes spans to, offered to components that read what is stored or keep
 * their own tables beside it (the alert processor's windowed conditions and incidents).
 */
export interface TraceStore extends QueryBackend {
  /** The database unqualified table names refer to. */
  readonly database: string;
  /** The ClickHouse cluster the store's tables live on (the exporter's cluster_name): components' DDL runs ON CLUSTER with Replicated engines. */
  readonly clusterName?: string;
  /**
   * True when a lightweight DELETE may return once the engine has registered it: every read of
   * the store (components' and analysts') applies registered deletes on the fly, so the rows are
   * gone from every query at once (the embedded engine; a server waits for the delete instead).
   */
  readonly asyncDeletes?: boolean;
  /** Runs a statement whose output is not needed (CREATE TABLE IF NOT EXISTS ...). */
  command(sql: string): Promise<void>;
  /** Runs a SELECT (deduplicated: final = 1) and returns its rows as JSON objects. */
  selectRows<T = Record<string, unknown>>(sql: string, signal?: AbortSignal): Promise<T[]>;
  /** Inserts rows, as JSON objects keyed by column, into a table of `database`. */
  insertRows(table: string, rows: readonly object[]): Promise<void>;
}

/** Runs an operator action; a rejection with a PermanentError is the operator's mistake (400). */
export type AdminAction = (params: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;

export function isTraceStore(backend: QueryBackend): backend is TraceStore {
  return 'insertRows' in backend && 'selectRows' in backend;
}

/** What the service offers components at start. */
export interface Host {
  /** Opens (or shares) the HTTP server for `listen` ("host:port"). */
  acquireHttpListener(listen: string, owner: string, options?: HttpListenerOptions): Promise<HttpListener>;
  /** Exporters that can answer read queries register here; the admin query endpoint uses the first. */
  registerQueryBackend(owner: string, backend: QueryBackend): void;
  /**
   * The store registered by exporter `owner` (or the first one registered), when it is a full
   * TraceStore. Exporters start before processors, so processors find it from start on.
   */
  store(owner?: string): TraceStore | undefined;
  /**
   * Offers an operator action on the admin listener: `POST /actions/<owner>/<name>` with a JSON
   * object body runs it (behind the admin listener's auth) and answers its JSON result, e.g. the
   * alert processor's `test` that sends a test alert to a delivery target.
   */
  registerAdminAction(owner: string, name: string, action: AdminAction): void;
  /** The workspaces of the config's top-level `workspaces` section (receivers with `auth: workspaces`). */
  readonly workspaces: WorkspaceDirectory;
  /**
   * The control-plane objects (rules, alert rules, targets, policies, settings, keys): components
   * declare the ones their config holds and watch the kinds they apply.
   */
  readonly objects: ControlObjects;
  /** State shared by every instance (shared_state.redis); undefined: this process keeps its own. */
  readonly shared?: SharedState;
  /** Offers a capability to other components (core/capabilities.ts; the first offer wins). */
  provide<K extends CapabilityName>(name: K, implementation: Capabilities[K]): void;
  /** A capability some component offered, if any (extensions start last and find them all). */
  capability<K extends CapabilityName>(name: K): Capabilities[K] | undefined;
  /**
   * A 32-byte key for signing short-lived tokens (signed media URLs), one per `purpose`: derived
   * from service.control_plane.secrets_key (HKDF-SHA-256), so daemons sharing that key accept each
   * other's tokens; random per start when there is none. Absent on hosts of tests and benchmarks.
   */
  signingKey?(purpose: string): Buffer;
}

export type Stability = 'development' | 'alpha' | 'beta' | 'stable';

export interface ComponentSettings<T> {
  /** Full component id, e.g. "otlp" or "clickhouse/primary". */
  id: string;
  logger: Logger;
  telemetry: T;
}

/** A route a receiver serves, used to detect two receivers claiming the same address and path. */
export interface ClaimedRoute {
  listen: string;
  route: string;
  /** Dotted config path (inside the receiver's config) of the option that chose the address. */
  configPath: string;
  /** The listener's auth setting; undefined means none was configured. */
  auth: ReceiverAuthConfig | undefined;
}

interface FactoryBase<Kind extends string, Schema extends z.ZodType> {
  type: string;
  kind: Kind;
  stability: Stability;
  summary: string;
  /** Single source of the component's option types, defaults and docs. */
  configSchema: Schema;
}

export interface ReceiverFactory<Schema extends z.ZodType = z.ZodType>
  extends FactoryBase<'receiver', Schema> {
  createReceiver(
    config: z.output<Schema>,
    settings: ComponentSettings<ReceiverTelemetry>,
    next: SpanConsumer,
  ): Receiver;
  /** Listen addresses and routes the receiver would serve with this config. */
  claimedRoutes(config: z.output<Schema>): ClaimedRoute[];
}

export interface ProcessorFactory<Schema extends z.ZodType = z.ZodType>
  extends FactoryBase<'processor', Schema> {
  createProcessor(
    config: z.output<Schema>,
    settings: ComponentSettings<ProcessorTelemetry>,
    next: SpanConsumer,
  ): Processor;
}

export interface ExporterFactory<Schema extends z.ZodType = z.ZodType>
  extends FactoryBase<'exporter', Schema> {
  createExporter(config: z.output<Schema>, settings: ComponentSettings<ExporterTelemetry>): Exporter;
}

export interface ExtensionFactory<Schema extends z.ZodType = z.ZodType>
  extends FactoryBase<'extension', Schema> {
  createExtension(config: z.output<Schema>, settings: ComponentSettings<ReceiverTelemetry>): Extension;
  /** Listen addresses and routes the extension would serve with this config. */
  claimedRoutes(config: z.output<Schema>): ClaimedRoute[];
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory | ExtensionFactory;

export interface ComponentRegistry {
  receivers: readonly ReceiverFactory[];
  processors: readonly ProcessorFactory[];
  exporters: readonly ExporterFactory[];
  /** Absent: no extensions (test registries). */
  extensions?: readonly ExtensionFactory[];
}
