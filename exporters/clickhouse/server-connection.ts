import { Readable } from 'node:stream';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseSettings,
  type Logger as ClientLogger,
} from '@clickhouse/client';
import type { SqlParser } from '../../core/clickhouse/query-guard';
import type { EngineFunction } from '../../core/clickhouse/query-policy';
import type { Logger } from '../../core/logger';
import {
  analystSettings,
  CANONICALIZE_QUERY,
  ENGINE_CATALOGUE_QUERIES,
  INSERT_SETTINGS,
  type AnalystReadOptions,
  type ClickhouseConnection,
  type EngineCatalogue,
  type ReadOptions,
  type ReadResult,
} from './connection';
import { joinNativeBlock, NATIVE_INSERT_COLUMNS, type NativeBlock } from './native';

export interface ServerConnectionOptions {
  endpoint: string;
  username: string;
  password: string;
  insertTimeoutMs: number;
  /** HTTP sockets kept for this exporter: inserts in flight plus analyst reads. */
  maxOpenConnections: number;
  logger: Logger;
  /** Credentials of the analyst reader (a user with only SELECT on the store's database). */
  reader?: { username: string; password: string };
}

/**
 * The client would print its own errors to the console; the exporter already logs every failure
 * with its outcome (retrying, rejected), so the client's lines go to the component log at debug.
 */
function clientLoggerClass(logger: Logger): new () => ClientLogger {
  const forward = (params: { module: string; message: string; args?: Record<string, unknown>; err?: Error }) =>
    logger.debug({ module: params.module, args: params.args, err: params.err?.message }, params.message);
  return class implements ClientLogger {
    trace = forward;
    debug = forward;
    info = forward;
    warn = forward;
    error = forward;
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A ClickHouse server over its HTTP interface, through @clickhouse/client. */
export class ServerConnection implements ClickhouseConnection {
  readonly mode = 'server' as const;
  private readonly client: ClickHouseClient;
  /** The analyst reader's client: its own user when configured, the exporter's otherwise. */
  private readonly reader: ClickHouseClient;

  constructor(options: ServerConnectionOptions) {
    this.client = createClient({
      url: options.endpoint,
      username: options.username,
      password: options.password,
      request_timeout: options.insertTimeoutMs,
      max_open_connections: options.maxOpenConnections,
      application: 'tracehouse',
      // Every statement names its database explicitly: the exporter's database may not exist yet
      // when the first CREATE DATABASE runs, and reads pick theirs per request.
      database: 'default',
      log: { LoggerClass: clientLoggerClass(options.logger), level: ClickHouseLogLevel.WARN },
    });
    this.reader = options.reader
      ? createClient({
          url: options.endpoint,
          username: options.reader.username,
          password: options.reader.password,
          request_timeout: options.insertTimeoutMs,
          max_open_connections: 4,
          application: 'tracehouse-reader',
          database: 'default',
          log: { LoggerClass: clientLoggerClass(options.logger), level: ClickHouseLogLevel.WARN },
        })
      : this.client;
    if (!options.reader) {
      options.logger.warn(
        { code: 'EXP_READER_NOT_LEAST_PRIVILEGE' },
        'the admin query endpoint reads as the exporter user; set reader_username/reader_password to a user with only SELECT on the store (README: Security)',
      );
    }
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  async select(sql: string, format: string): Promise<string> {
    const result = await this.client.exec({ query: `${sql}\nFORMAT ${format}` });
    return (await collect(result.stream)).toString('utf8');
  }

  async insertNdjson(table: string, body: Buffer): Promise<void> {
    await this.insertBody(`INSERT INTO ${table} FORMAT JSONEachRow`, body);
  }

  /**
   * client.insert() re-serializes rows from objects; exec() sends prepared bytes as the request
   * body, the same bytes the embedded engine reads.
   */
  private async insertBody(query: string, body: Buffer): Promise<void> {
    const result = await this.client.exec({
      query,
      values: Readable.from([body], { objectMode: false }),
      clickhouse_settings: INSERT_SETTINGS,
    });
    result.stream.resume();
    await new Promise<void>((resolve, reject) => {
      result.stream.once('end', resolve);
      result.stream.once('error', reject);
      result.stream.once('close', resolve);
    });
  }

  /** The same Native block the embedded engine reads from its spool, as the request body. */
  async insertSpanBlock(table: string, block: NativeBlock): Promise<void> {
    await this.insertBody(`INSERT INTO ${table} ${NATIVE_INSERT_COLUMNS} FORMAT Native`, joinNativeBlock(block));
  }

  /** Components' own reads, deduplicated. */
  async read(sql: string, options: ReadOptions): Promise<ReadResult> {
    const result = await this.client.exec({
      query: sql,
      clickhouse_settings: { final: 1 },
      http_headers: { 'X-ClickHouse-Database': options.database },
      abort_signal: options.signal,
    });
    const body = await collect(result.stream);
    const used = result.response_headers['x-clickhouse-format'];
    return { body, format: typeof used === 'string' && used !== '' ? used : options.format };
  }

  /** The guard parses with the reader's credentials: the server's own parser, nothing executed. */
  readonly parser: SqlParser = {
    canonicalize: async (sql) => {
      const result = await this.reader.exec({ query: `${CANONICALIZE_QUERY} FORMAT TabSeparatedRaw`, query_params: { q: sql }, clickhouse_settings: { readonly: '1' } });
      return (await collect(result.stream)).toString('utf8');
    },
    explainAst: async (statement) => {
      const result = await this.reader.exec({ query: `EXPLAIN AST ${statement}`, clickhouse_settings: { readonly: '1', default_format: 'TabSeparatedRaw' } });
      return (await collect(result.stream)).toString('utf8');
    },
  };

  async catalogue(): Promise<EngineCatalogue> {
    const rows = async <T>(query: string): Promise<T[]> => {
      const result = await this.reader.exec({ query: `${query} FORMAT JSON`, clickhouse_settings: { readonly: '1' } });
      return (JSON.parse((await collect(result.stream)).toString('utf8')) as { data: T[] }).data;
    };
    const functions = await rows<EngineFunction>(ENGINE_CATALOGUE_QUERIES.functions);
    const combinators = await rows<{ name: string }>(ENGINE_CATALOGUE_QUERIES.combinators);
    return { functions, combinators: combinators.map((c) => c.name) };
  }

  async analystRead(statement: string, options: AnalystReadOptions): Promise<ReadResult> {
    // The limits first and readonly=1 last: the server applies them in order, and once readonly is
    // 1 nothing later in the request could change a setting. Each request is its own session.
    const result = await this.reader.exec({
      query: statement,
      clickhouse_settings: { ...analystSettings(options.limits), default_format: options.format, readonly: '1' } as ClickHouseSettings,
      http_headers: { 'X-ClickHouse-Database': options.database },
    });
    const body = await collect(result.stream);
    return { body, format: options.format };
  }

  async close(): Promise<void> {
    await this.client.close();
    if (this.reader !== this.client) await this.reader.close();
  }
}
