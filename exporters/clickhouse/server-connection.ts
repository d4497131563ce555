import { Readable } from 'node:stream';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type Logger as ClientLogger,
} from '@clickhouse/client';
import type { Logger } from '../../core/logger';
import { INSERT_SETTINGS, type ClickhouseConnection, type ReadOptions, type ReadResult } from './connection';

export interface ServerConnectionOptions {
  endpoint: string;
  username: string;
  password: string;
  insertTimeoutMs: number;
  /** HTTP sockets kept for this exporter: inserts in flight plus analyst reads. */
  maxOpenConnections: number;
  logger: Logger;
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
  }

  async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  async select(sql: string, format: string): Promise<string> {
    const result = await this.client.exec({ query: `${sql}\nFORMAT ${format}` });
    return (await collect(result.stream)).toString('utf8');
  }

  async insertNdjson(table: string, body: Buffer): Promise<void> {
    // client.insert() re-serializes JSON rows from objects; exec() sends the prepared NDJSON
    // bytes as the request body, the same bytes the embedded engine parses.
    const result = await this.client.exec({
      query: `INSERT INTO ${table} FORMAT JSONEachRow`,
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

  async read(sql: string, options: ReadOptions): Promise<ReadResult> {
    const result = await this.client.exec({
      query: sql,
      // readonly=2: the server refuses writes for this request whatever the statement says.
      clickhouse_settings: { final: 1, readonly: '2' },
      http_headers: { 'X-ClickHouse-Database': options.database },
      abort_signal: options.signal,
    });
    const body = await collect(result.stream);
    const used = result.response_headers['x-clickhouse-format'];
    return { body, format: typeof used === 'string' && used !== '' ? used : options.format };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
