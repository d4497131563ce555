import os from 'node:os';
import { silentLogger } from '../../core/logger';
import { acquireEmbeddedSession, openTransientSession, type EmbeddedSessionLease } from '../../core/clickhouse/embedded-engine';
import type { SqlParser } from '../../core/clickhouse/query-guard';
import type { EngineFunction } from '../../core/clickhouse/query-policy';
import {
  analystSettings,
  CANONICALIZE_QUERY,
  ENGINE_CATALOGUE_QUERIES,
  INSERT_SETTINGS,
  INSERT_SETTINGS_CLAUSE,
  type AnalystReadOptions,
  type ClickhouseConnection,
  type EngineCatalogue,
  type ReadOptions,
  type ReadResult,
} from './connection';
import { joinNativeBlock, NATIVE_INSERT_COLUMNS, type NativeBlock } from './native';
import { ident, sqlString } from './schema';
import { Spool } from './spool';

/** Sessions opened on first use (the writers are opened with the connection). */
type LazyRole = 'reader' | 'guard' | 'rows-writer';

/**
 * Settings of every read of the store (components' and analysts'), beside final = 1:
 * - apply_mutations_on_fly: a lightweight DELETE the engine has registered hides its rows at once,
 *   though the engine applies it to the parts later (TraceStore.asyncDeletes).
 * - do_not_merge_across_partitions_select_final: FINAL deduplicates within each partition, so a
 *   time condition prunes partitions and a skip index narrows the read (a one-trace read went
 *   from ~170 ms to ~5 ms over 90 daily partitions). Correct for every table the daemon creates:
 *   each partition key is a function of its sorting key (toDate of the spans' second, the month of
 *   a log's timestamp), so the versions of a row always share a partition.
 */
const READ_SETTINGS: readonly [string, number][] = [
  ['apply_mutations_on_fly', 1],
  ['do_not_merge_across_partitions_select_final', 1],
];
const READER_SETUP = ['SET final = 1', ...READ_SETTINGS.map(([k, v]) => `SET ${k} = ${v}`)];

/**
 * chdb in-process. Writes go through the shared writer sessions; components' reads through a
 * reader session with `final = 1`; the query guard parses on a readonly=1 session; every analyst
 * statement gets a connection of its own.
 */
export class EmbeddedConnection implements ClickhouseConnection {
  readonly mode = 'embedded' as const;
  /** DDL and internal selects, and inserts. */
  private readonly writer: EmbeddedSessionLease;
  /**
   * chdb runs one statement at a time per connection, so a second writer lets two inserts run at
   * once (the exporter keeps up to two in flight; receivers' own rows go beside span inserts).
   */
  private readonly inserters: Array<{ lease: EmbeddedSessionLease; running: number }>;
  private readonly roles = new Map<LazyRole, Promise<EmbeddedSessionLease>>();

  constructor(
    private readonly dataPath: string,
    private readonly insertTimeoutMs: number,
    /** Where insert blocks are spooled (the exporter passes its spool_dir; tools that only read omit it). */
    private readonly spool: Spool = new Spool(os.tmpdir(), silentLogger()),
  ) {
    this.writer = acquireEmbeddedSession(dataPath, 'writer');
    this.inserters = [
      { lease: this.writer, running: 0 },
      { lease: acquireEmbeddedSession(dataPath, 'second-writer'), running: 0 },
    ];
  }

  /**
   * Runs an insert on the writer connection with fewer inserts running; on a tie the second one,
   * which runs nothing else (the first also runs DDL and internal selects).
   */
  private async onInserter(work: (session: EmbeddedSessionLease['session']) => Promise<unknown>): Promise<void> {
    const inserter = this.inserters[1].running <= this.inserters[0].running ? this.inserters[1] : this.inserters[0];
    inserter.running += 1;
    try {
      await work(inserter.lease.session);
    } finally {
      inserter.running -= 1;
    }
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

  /**
   * Components' own rows (record times, control-plane objects, incidents, decisions) on a
   * connection of their own: a look-up that a request waits for never queues behind span inserts.
   */
  async insertNdjson(table: string, body: Buffer): Promise<void> {
    const rows = await this.openRole('rows-writer', []);
    await rows.session.insert({ table, values: body, format: 'JSONEachRow', settings: INSERT_SETTINGS, timeout: this.insertTimeoutMs });
  }

  /**
   * The block inline, when the spool cannot be written: base64 in a bound parameter, decoded and
   * read by the engine's `format()` (chdb's own inline data would end at the block's first blank
   * line). About four times the engine's CPU of the spool path on large blocks, the same rows.
   */
  private async insertInline(table: string, block: NativeBlock): Promise<void> {
    // A timed-out insert may still land later; the ReplacingMergeTree table makes the retry harmless.
    await this.onInserter((session) =>
      session.queryBindAsync(
        `INSERT INTO ${table} ${NATIVE_INSERT_COLUMNS} SELECT * FROM format(Native, base64Decode({block:String})) ${INSERT_SETTINGS_CLAUSE}`,
        { block: joinNativeBlock(block).toString('base64') },
        { timeout: this.insertTimeoutMs },
      ),
    );
  }

  /** A Native block through a spool file, read by the writer session with `FROM INFILE`. */
  async insertSpanBlock(table: string, block: NativeBlock): Promise<void> {
    const file = this.spool.write(block);
    if (file === undefined) return this.insertInline(table, block);
    try {
      await this.onInserter((session) =>
        session.queryAsync(`INSERT INTO ${table} ${NATIVE_INSERT_COLUMNS} FROM INFILE ${sqlString(file)} ${INSERT_SETTINGS_CLAUSE} FORMAT Native`, {
          timeout: this.insertTimeoutMs,
        }),
      );
    } finally {
      this.spool.remove(file);
    }
  }

  /** Components' own reads: a session with `final = 1` that analysts never reach. */
  async read(sql: string, options: ReadOptions): Promise<ReadResult> {
    const reader = await this.openRole('reader', READER_SETUP);
    // `USE db` is connection state shared by every lease of the reader, hence exclusive.
    return reader.exclusive(async (session) => {
      await session.queryAsync(`USE ${ident(options.database)}`);
      const result = await session.queryAsync(sql, { format: options.format, signal: options.signal });
      return { body: Buffer.from(result.bytes()), format: options.format };
    });
  }

  readonly parser: SqlParser = {
    canonicalize: async (sql) => {
      const guard = await this.openRole('guard', []);
      return (await guard.session.queryBindAsync(CANONICALIZE_QUERY, { q: sql }, { format: 'TSVRaw' })).text();
    },
    explainAst: async (statement) => {
      const guard = await this.openRole('guard', []);
      return (await guard.session.queryAsync(`EXPLAIN AST ${statement}`, { format: 'TSVRaw' })).text();
    },
  };

  async catalogue(): Promise<EngineCatalogue> {
    const guard = await this.openRole('guard', []);
    const functions = (await guard.session.queryAsync(ENGINE_CATALOGUE_QUERIES.functions, { format: 'JSON' })).json<{ data: EngineFunction[] }>();
    const combinators = (await guard.session.queryAsync(ENGINE_CATALOGUE_QUERIES.combinators, { format: 'JSON' })).json<{ data: { name: string }[] }>();
    return { functions: functions.data, combinators: combinators.data.map((c) => c.name) };
  }

  async analystRead(statement: string, options: AnalystReadOptions): Promise<ReadResult> {
    // A connection per statement, with its limits and readonly=1 given at connect: no statement can
    // lift them, and nothing it does reaches another caller. No abort signal is passed: chdb would
    // only abandon the promise while the engine runs on; the engine's own limits stop it.
    const settings = Object.entries(analystSettings(options.limits)).map(([k, v]) => `--${k}=${v}`);
    const session = openTransientSession(this.dataPath, [...settings, ...READ_SETTINGS.map(([k, v]) => `--${k}=${v}`), '--readonly=1']);
    try {
      await session.queryAsync(`USE ${ident(options.database)}`);
      const result = await session.queryAsync(statement, { format: options.format });
      return { body: Buffer.from(result.bytes()), format: options.format };
    } finally {
      session.close();
    }
  }

  /** A long-lived session of one role; setup statements run once, the guard's settings are given at connect. */
  private openRole(role: LazyRole, setup: string[]): Promise<EmbeddedSessionLease> {
    let pending = this.roles.get(role);
    if (pending) return pending;
    pending = (async () => {
      const lease = acquireEmbeddedSession(
        this.dataPath,
        role,
        async (session) => {
          for (const statement of setup) await session.queryAsync(statement);
        },
        role === 'guard' ? ['--readonly=1', '--max_execution_time=5', '--max_result_bytes=67108864'] : [],
      );
      try {
        await lease.ready;
        return lease;
      } catch (err) {
        await lease.release();
        throw err;
      }
    })();
    this.roles.set(role, pending);
    const current = pending;
    current.catch(() => {
      if (this.roles.get(role) === current) this.roles.delete(role);
    });
    return current;
  }

  async close(): Promise<void> {
    const roles = [...this.roles.values()];
    this.roles.clear();
    for (const role of roles) await (await role.catch(() => undefined))?.release();
    for (const inserter of this.inserters) await inserter.lease.release();
    this.spool.close();
  }
}
