import type { QueryRequest, QueryResult, TraceStore } from '../../core/component';
import { PermanentError, TracehouseError } from '../../core/errors';
import { guardQuery, QueryRefusedError } from '../../core/clickhouse/query-guard';
import { allowedFormat, FunctionCatalogue } from '../../core/clickhouse/query-policy';
import type { ClickhouseConnection } from './connection';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Serves the admin query endpoint from the exporter's own connection, and lets other components
 * read and keep tables beside the spans (TraceStore). Reads run with `final = 1`, so a span
 * replayed after an at-least-once redelivery is counted once even before ClickHouse has merged the
 * duplicate away. An analyst's statement runs only after the query guard accepted it, on a
 * connection of its own with readonly = 1 and the engine's limits.
 */
export class ClickhouseQueryBackend implements TraceStore {
  constructor(
    private readonly connection: () => ClickhouseConnection | undefined,
    readonly database: string,
    readonly clusterName?: string,
  ) {
    this.databases = new Set([database]);
  }

  /** The databases an analyst's statement may read: the store's own. */
  private readonly databases: ReadonlySet<string>;
  private catalogue: { connection: ClickhouseConnection; loading: Promise<FunctionCatalogue> } | undefined;

  private running(): ClickhouseConnection {
    const connection = this.connection();
    if (!connection) throw new TracehouseError('EXP_CLICKHOUSE_UNAVAILABLE', 'the clickhouse exporter is not running');
    return connection;
  }

  get asyncDeletes(): boolean {
    return this.connection()?.mode === 'embedded';
  }

  command(sql: string): Promise<void> {
    return this.running().command(sql);
  }

  async selectRows<T = Record<string, unknown>>(sql: string, signal?: AbortSignal): Promise<T[]> {
    const result = await this.running().read(`${sql}\nFORMAT JSON`, { format: 'JSON', database: this.database, signal });
    return (JSON.parse(result.body.toString('utf8')) as { data: T[] }).data;
  }

  insertRows(table: string, rows: readonly object[]): Promise<void> {
    if (!TABLE_NAME.test(table)) return Promise.reject(new PermanentError('EXP_CLICKHOUSE_QUERY', `invalid table name ${JSON.stringify(table)}`));
    if (rows.length === 0) return Promise.resolve();
    const body = Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n', 'utf8');
    return this.running().insertNdjson(`${this.database}.${table}`, body);
  }

  async query(request: QueryRequest): Promise<QueryResult> {
    const connection = this.running();
    const database = request.database ?? this.database;
    if (!this.databases.has(database)) {
      throw new QueryRefusedError('refused', `database ${database} is not allowed (allowed: ${[...this.databases].join(', ')})`);
    }
    const verdict = await guardQuery(request.sql, connection.parser, {
      databases: this.databases,
      functions: await this.functions(connection),
    });
    if (!verdict.ok) throw new QueryRefusedError(verdict.kind, verdict.reason);
    const format = verdict.format ?? allowedFormat(request.defaultFormat);
    if (!format) throw new QueryRefusedError('refused', `output format ${JSON.stringify(request.defaultFormat)} is not allowed`);
    return connection.analystRead(verdict.statement, { format, database, limits: request.limits });
  }

  /** The engine's function catalogue, read once per connection. */
  private functions(connection: ClickhouseConnection): Promise<FunctionCatalogue> {
    if (this.catalogue?.connection !== connection) {
      const loading = connection.catalogue().then(({ functions, combinators }) => new FunctionCatalogue(functions, combinators));
      this.catalogue = { connection, loading };
      loading.catch(() => {
        if (this.catalogue?.loading === loading) this.catalogue = undefined;
      });
    }
    return this.catalogue.loading;
  }
}
