import type { QueryBackend, QueryRequest, QueryResult } from '../../core/component';
import { PermanentError, TracehouseError } from '../../core/errors';
import { splitFormat, type ClickhouseConnection } from './connection';

const FORMAT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Serves the admin query endpoint from the exporter's own connection. Reads run with `final = 1`,
 * so a span replayed after an at-least-once redelivery is counted once even before ClickHouse has
 * merged the duplicate away. Whether a statement is read-only is the caller's check; the connection
 * adds its own guard (readonly=2) on top.
 */
export class ClickhouseQueryBackend implements QueryBackend {
  constructor(
    private readonly connection: () => ClickhouseConnection | undefined,
    private readonly defaultDatabase: string,
  ) {}

  async query(request: QueryRequest): Promise<QueryResult> {
    const connection = this.connection();
    if (!connection) {
      throw new TracehouseError('EXP_CLICKHOUSE_UNAVAILABLE', 'the clickhouse exporter is not running');
    }
    const { statement, format } = splitFormat(request.sql);
    const used = format ?? request.defaultFormat;
    if (!FORMAT_NAME.test(used)) {
      throw new PermanentError('EXP_CLICKHOUSE_QUERY', `invalid output format ${JSON.stringify(used)}`);
    }
    // On its own line, so a trailing `-- comment` in the statement cannot swallow it.
    return connection.read(`${statement}\nFORMAT ${used}`, {
      format: used,
      database: request.database ?? this.defaultDatabase,
      signal: request.signal,
    });
  }
}
