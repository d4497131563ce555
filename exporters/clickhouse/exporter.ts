import type { ComponentSettings, Exporter, Host } from '../../core/component';
import {
  BackpressureError,
  errorMessage,
  PermanentError,
  ShuttingDownError,
  TracehouseError,
} from '../../core/errors';
import type { SpanBatch } from '../../core/span';
import type { ExporterTelemetry } from '../../core/telemetry';
import { Batcher, Waiter, type Chunk } from './batcher';
import { ByteSlabs } from './byte-slabs';
import { encodeNativeColumns, nativeBlock, type NativeColumns } from './native';
import { resolveTarget, type ClickhouseExporterConfig } from './config';
import { isDataError, type ClickhouseConnection } from './connection';
import { EmbeddedConnection } from './embedded-connection';
import { groupByDays, MAX_DAYS_PER_INSERT } from './partitions';
import { ClickhouseQueryBackend } from './query-backend';
import { RetriesExhausted, withRetry, type RetryPolicy } from './retry';
import { EMBEDDED_SPANS_TABLE_SETTINGS } from './schema';
import { SchemaManager } from './schema-manager';
import { ServerConnection } from './server-connection';
import { Spool } from './spool';

export interface ClickhouseExporterOptions {
  /**
   * Inserts in flight at once (default 2). Even the embedded engine gains from a second one: it
   * fills the cores while the first is in its single-threaded phases (part write, view). Measured
   * with bench/clickhouse-insert.ts: about +15 % spans/s over 1 at 5000 spans, 3 adds nothing.
   */
  maxInFlight?: number;
}

export class ClickhouseExporter implements Exporter {
  private connection: ClickhouseConnection | undefined;
  private schema: SchemaManager | undefined;
  private readonly batcher: Batcher<NativeColumns>;
  /** Where calls are encoded while they wait for their insert (see byte-slabs.ts). */
  private readonly slabs = new ByteSlabs();
  private readonly retry: RetryPolicy;
  private readonly telemetry: ExporterTelemetry;
  private readonly qualifiedTable: string;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private unhealthy = false;

  constructor(
    private readonly config: ClickhouseExporterConfig,
    private readonly settings: ComponentSettings<ExporterTelemetry>,
    options: ClickhouseExporterOptions = {},
  ) {
    this.telemetry = settings.telemetry;
    this.qualifiedTable = `${config.database}.${config.table}`;
    this.retry = {
      initialIntervalMs: config.retry.initial_interval_ms,
      maxIntervalMs: config.retry.max_interval_ms,
      maxElapsedMs: config.retry.max_elapsed_ms,
    };
    this.batcher = new Batcher({
      maxSpans: config.max_spans,
      maxPartitions: MAX_DAYS_PER_INSERT,
      timeoutMs: config.timeout_ms,
      capacity: config.queue_max_spans,
      maxInFlight: options.maxInFlight ?? 2,
      write: (chunks) => this.write(chunks),
      onQueueChange: (held, capacity) => this.telemetry.queue(held, capacity),
    });
  }

  start(host: Host): Promise<void> {
    this.starting ??= this.open(host);
    return this.starting;
  }

  private async open(host: Host): Promise<void> {
    if (this.stopping) return;
    const target = resolveTarget(this.config);
    const connection =
      target.mode === 'embedded'
        ? new EmbeddedConnection(target.path, this.config.insert_timeout_ms, new Spool(target.spoolDir, this.settings.logger))
        : new ServerConnection({
            endpoint: target.endpoint,
            username: target.username,
            password: target.password,
            reader: target.reader,
            insertTimeoutMs: this.config.insert_timeout_ms,
            maxOpenConnections: 4,
            logger: this.settings.logger,
          });
    const schema = new SchemaManager(connection, {
      database: this.config.database,
      table: this.config.table,
      ttlDays: this.config.ttl_days,
      clusterName: this.config.cluster_name,
      fsyncAfterInsert: this.config.fsync_after_insert,
      spansTableSettings: target.mode === 'embedded' ? EMBEDDED_SPANS_TABLE_SETTINGS : undefined,
      attributeValueIndexes: this.config.attribute_value_indexes ?? target.mode === 'server',
    });
    if (target.mode === 'embedded') {
      try {
        await schema.ensure();
      } catch (err) {
        // A local engine that cannot create its tables is a configuration problem, not an outage.
        await connection.close();
        throw new TracehouseError(
          'EXP_CLICKHOUSE_SCHEMA',
          `cannot prepare ${this.qualifiedTable} in ${target.path}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    } else {
      // A server may be down or still booting; start must not wait on it. Inserts ensure the
      // schema again before writing, within their retry bound.
      schema.ensure().catch((err: unknown) => {
        this.settings.logger.warn(
          { err: errorMessage(err), endpoint: new URL(target.endpoint).origin },
          'ClickHouse schema not ready; it is retried before each insert',
        );
      });
    }
    this.connection = connection;
    this.schema = schema;
    this.telemetry.queue(0, this.config.queue_max_spans);
    host.registerQueryBackend(
      this.settings.id,
      new ClickhouseQueryBackend(() => this.connection, this.config.database, this.config.cluster_name),
    );
    this.settings.logger.info(
      {
        mode: target.mode,
        table: this.qualifiedTable,
        // origin only: an endpoint URL may carry credentials.
        ...(target.mode === 'embedded' ? { path: target.path } : { endpoint: new URL(target.endpoint).origin }),
      },
      'clickhouse exporter started',
    );
  }

  consume(batch: SpanBatch, signal: AbortSignal): Promise<void> {
    if (this.stopping) return Promise.reject(new ShuttingDownError(this.settings.id));
    if (!this.connection) {
      return Promise.reject(
        new TracehouseError('EXP_NOT_STARTED', `${this.settings.id} has not started`),
      );
    }
    if (batch.length === 0) return Promise.resolve();
    if (signal.aborted) return Promise.reject(abortError(this.settings.id));
    if (!this.batcher.hasRoom(batch.length)) {
      this.telemetry.failed(batch.length, 'queue_full');
      return Promise.reject(
        new BackpressureError(
          'EXP_QUEUE_FULL',
          `${this.settings.id} queue is full (${this.batcher.heldSpans} of ${this.config.queue_max_spans} spans waiting)`,
          this.retryAfterSeconds(),
        ),
      );
    }
    // Cut by size, and by days so that no insert touches more partitions than the engine allows;
    // encoded now, so that nothing holds the span objects while they wait for their insert.
    const encoded = groupByDays(batch, this.config.max_spans).map((group) => ({ rows: encodeNativeColumns(group.spans, this.slabs), partitions: group.days }));
    return this.enqueue(encoded, signal);
  }

  /** Not inside consume: its closures would keep the call's spans reachable until the insert. */
  private enqueue(encoded: { rows: NativeColumns; partitions: number[] }[], signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(encoded.length, resolve, reject);
      const chunks: Chunk<NativeColumns>[] = encoded.map(({ rows, partitions }) => ({ rows, spans: rows.rows, partitions, waiter }));
      waiter.watch(signal, () => abortError(this.settings.id));
      this.batcher.add(chunks);
    });
  }

  /** While ClickHouse is failing, tell clients to come back after a backoff interval, not at once. */
  private retryAfterSeconds(): number {
    return this.unhealthy ? Math.max(1, Math.ceil(this.retry.maxIntervalMs / 1000)) : 1;
  }

  private async write(chunks: Chunk<NativeColumns>[]): Promise<void> {
    try {
      await this.insert(chunks);
    } catch (err) {
      // One caller's bad rows must not fail the others sharing the insert.
      if (isDataError(err)) await this.isolate(byCaller(chunks), err);
      else this.fail(chunks, err);
      return;
    } finally {
      // Every chunk is settled now (stored, or failed for good): nothing reads its bytes again.
      for (const chunk of chunks) chunk.rows.release?.();
    }
    this.unhealthy = false;
    this.succeed(chunks);
  }

  /**
   * The engine refused an insert for its rows: bisect its callers, inserting each half again, until
   * the callers whose rows are refused are alone; only they fail (permanently), the others are
   * stored. One bad caller among n costs about 2·log2(n) inserts instead of n.
   */
  private async isolate(callers: Chunk<NativeColumns>[][], err: unknown): Promise<void> {
    if (callers.length === 1) return this.fail(callers[0], err);
    const half = Math.ceil(callers.length / 2);
    for (const part of [callers.slice(0, half), callers.slice(half)]) {
      const chunks = part.flat();
      try {
        await this.insert(chunks);
      } catch (partErr) {
        if (isDataError(partErr)) await this.isolate(part, partErr);
        else this.fail(chunks, partErr);
        continue;
      }
      this.succeed(chunks);
    }
  }

  private async insert(chunks: Chunk<NativeColumns>[]): Promise<void> {
    const block = nativeBlock(chunks.map((chunk) => chunk.rows));
    const spans = chunks.reduce((sum, chunk) => sum + chunk.spans, 0);
    await withRetry(
      async () => {
        const connection = this.connection;
        const schema = this.schema;
        if (!connection || !schema) throw new ShuttingDownError(this.settings.id);
        await schema.ensure();
        const started = performance.now();
        try {
          await connection.insertSpanBlock(this.qualifiedTable, block);
        } finally {
          this.telemetry.batch(spans, (performance.now() - started) / 1000);
        }
      },
      this.retry,
      (err) => !isDataError(err) && !(err instanceof ShuttingDownError),
      (err, delayMs, attempts) => {
        this.unhealthy = true;
        this.settings.logger.warn(
          { err: errorMessage(err), spans, attempts, retry_in_ms: delayMs },
          'ClickHouse insert failed; retrying',
        );
      },
    );
  }

  private succeed(chunks: Chunk<NativeColumns>[]): void {
    for (const chunk of chunks) {
      this.telemetry.sent(chunk.spans);
      chunk.waiter.partWritten();
    }
  }

  private fail(chunks: Chunk<NativeColumns>[], err: unknown): void {
    const last = err instanceof RetriesExhausted ? err.lastError : err;
    const spans = chunks.reduce((sum, chunk) => sum + chunk.spans, 0);
    let failure: TracehouseError;
    if (isDataError(last)) {
      failure = new PermanentError(
        'EXP_CLICKHOUSE_REJECTED',
        `ClickHouse rejected ${spans} spans: ${errorMessage(last)}`,
        { cause: last },
      );
    } else if (last instanceof TracehouseError) {
      failure = last;
    } else {
      this.unhealthy = true;
      const tried =
        err instanceof RetriesExhausted
          ? ` after ${err.outcome.attempts} attempts over ${err.outcome.elapsedMs} ms`
          : '';
      failure = new TracehouseError(
        'EXP_CLICKHOUSE_UNAVAILABLE',
        `ClickHouse insert of ${spans} spans failed${tried}: ${errorMessage(last)}`,
        { cause: last },
      );
    }
    this.settings.logger.error({ err: failure.message, code: failure.code, spans }, 'spans not written');
    for (const chunk of chunks) {
      this.telemetry.failed(chunk.spans, failure instanceof PermanentError ? 'rejected' : 'unavailable');
      chunk.waiter.fail(failure);
    }
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    // A start still opening would otherwise leave a connection behind.
    await this.starting?.catch(() => undefined);
    await this.batcher.drain();
    const connection = this.connection;
    this.connection = undefined;
    this.schema = undefined;
    await connection?.close();
  }
}

/** The chunks of one insert, grouped by the call they came from. */
function byCaller<Rows>(chunks: readonly Chunk<Rows>[]): Chunk<Rows>[][] {
  const groups = new Map<Waiter, Chunk<Rows>[]>();
  for (const chunk of chunks) {
    const own = groups.get(chunk.waiter);
    if (own) own.push(chunk);
    else groups.set(chunk.waiter, [chunk]);
  }
  return [...groups.values()];
}

function abortError(id: string): TracehouseError {
  return new TracehouseError(
    'EXP_ABORTED',
    `${id}: the caller stopped waiting; its spans stay queued and are still written`,
  );
}
