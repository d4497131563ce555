import type { QueryRequest, QueryResult, TraceStore } from '../../core/component';
import { PermanentError, TracehouseError } from '../../core/errors';
import { splitFormat, type ClickhouseConnection } from './connection';

const FORMAT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Serves the admin query endpoint from the exporter's own connection, and lets other components
 * read and keep tables beside the spans (TraceStore). Reads run with `final = 1`, so a span
 * replayed after an at-least-once redelivery is counted once even before ClickHouse has merged the
 * duplicate away. Whether an analyst's statement is read-only is the caller's check; the
 * connection adds its own guard (readonly=2) on top.
 */
export class ClickhouseQueryBackend implements TraceStore {
  constructor(
    private readonly connection: () => ClickhouseConnection | undefined,
    readonly database: string,
  ) {}

  private running(): ClickhouseConnection {
    const connection = this.connection();
    if (!connection) throw new TracehouseError('EXP_CLICKHOUSE_UNAVAILABLE', 'the clickhouse exporter is not running');
    return connection;
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
    const { statement, format } = splitFormat(request.sql);
    const used = format ?? request.defaultFormat;
    if (!FORMAT_NAME.test(used)) {
      throw new PermanentError('EXP_CLICKHOUSE_QUERY', `invalid output format ${JSON.stringify(used)}`);
    }
    // On its own line, so a trailing `-- comment` in the statement cannot swallow it.
    return connection.read(`${statement}\nFORMAT ${used}`, {
      format: used,
      database: request.database ?? this.database,
      signal: request.signal,
    });
  }
}
