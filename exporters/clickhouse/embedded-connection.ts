import { acquireEmbeddedSession, type EmbeddedSessionLease } from '../../core/clickhouse/embedded-engine';
import { INSERT_SETTINGS, type ClickhouseConnection, type ReadOptions, type ReadResult } from './connection';
import { ident } from './schema';

/**
 * chdb in-process. Writes go through the shared writer session; analyst reads through a separate
 * reader session whose `final` and `readonly` settings are set once and stay on that connection.
 */
export class EmbeddedConnection implements ClickhouseConnection {
  readonly mode = 'embedded' as const;
  private readonly writer: EmbeddedSessionLease;
  private reader: Promise<EmbeddedSessionLease> | undefined;

  constructor(
    private readonly dataPath: string,
    private readonly insertTimeoutMs: number,
  ) {
    this.writer = acquireEmbeddedSession(dataPath, 'writer');
  }

  get path(): string {
    return this.writer.path;
  }

  async command(sql: string): Promise<void> {
    await this.writer.session.queryAsync(sql, { timeout: this.insertTimeoutMs });
  }

  async select(sql: string, format: string): Promise<string> {
    const result = await this.writer.session.queryAsync(sql, { format, timeout: this.insertTimeoutMs });
    return result.text();
  }

  async insertNdjson(table: string, body: Buffer): Promise<void> {
    // A timed-out insert may still land later; the ReplacingMergeTree table makes the retry harmless.
    await this.writer.session.insert({
      table,
      values: body,
      format: 'JSONEachRow',
      settings: INSERT_SETTINGS,
      timeout: this.insertTimeoutMs,
    });
  }

  async read(sql: string, options: ReadOptions): Promise<ReadResult> {
    const reader = await this.openReader();
    // `USE db` is connection state shared by every lease of the reader, hence exclusive.
    return reader.exclusive(async (session) => {
      const result = await session.queryAsync(`USE ${ident(options.database)}; ${sql}`, {
        format: options.format,
        signal: options.signal,
      });
      return { body: Buffer.from(result.bytes()), format: options.format };
    });
  }

  private openReader(): Promise<EmbeddedSessionLease> {
    this.reader ??= (async () => {
      const lease = acquireEmbeddedSession(this.dataPath, 'reader', async (session) => {
        // readonly=2 still lets later statements change other settings, but never write or lift
        // readonly itself: the reader cannot be talked into a write.
        await session.queryAsync('SET final = 1');
        await session.queryAsync('SET readonly = 2');
      });
      try {
        await lease.ready;
        return lease;
      } catch (err) {
        await lease.release();
        throw err;
      }
    })();
    const pending = this.reader;
    pending.catch(() => {
      if (this.reader === pending) this.reader = undefined;
    });
    return pending;
  }

  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (reader) await (await reader.catch(() => undefined))?.release();
    await this.writer.release();
  }
}
