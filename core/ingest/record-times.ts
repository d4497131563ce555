/**
 * Records that carry no time of their own are stamped with the time they are received. A record
 * with a deterministic id (a log's `id`, a trace's `requestId`, a webhook delivery id, ...) gets
 * deterministic trace and span ids, but the spans table's sorting key also holds the timestamp, so
 * a replay stamped later would be a second row with its tokens and cost counted twice.
 *
 * So the first receive time of each such record is kept in the store, in
 * `<database>.tracehouse_record_times`, and a replay (after the idempotency window, after a
 * restart, or on another daemon sharing the store) is stamped with it again: the same row, which
 * the ReplacingMergeTree collapses in FINAL reads and merges.
 *
 * A new record's time is written before its spans are handed on (insert, then read back the
 * earliest), so there is no moment when its spans are stored but its time is not. An in-memory LRU
 * answers repeats without a round trip, and concurrent look-ups share one insert and one SELECT.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { TraceStore } from '../component';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../delivery-error';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { IngestError } from './problems';

export const RECORD_TIMES_TABLE = 'tracehouse_record_times';

/** Records remembered in memory per store. */
const DEFAULT_MAX_ENTRIES = 100_000;
/** Keys in one insert and one SELECT; more wait for the next round. */
const MAX_KEYS_PER_ROUND = 2_000;

export interface RecordTimesTableOptions {
  database: string;
  /** Create it ON CLUSTER with a Replicated engine (the exporter's cluster_name). */
  clusterName?: string;
  /** fsync each insert (the exporter's fsync_after_insert). */
  fsyncAfterInsert?: boolean;
}

function ident(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/**
 * One row per receive of a record with a deterministic id, keyed by a hash of (workspace, kind,
 * id); the three are kept for people reading the table. The earliest time wins whatever order
 * rows arrive or merge in (min, not "last inserted"), and look-ups take min() themselves, so they
 * are right before any merge too.
 */
export function recordTimesTableDdl(options: RecordTimesTableOptions): string {
  const cluster = options.clusterName ? ` ON CLUSTER ${ident(options.clusterName)}` : '';
  const engine = options.clusterName
    ? `ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')`
    : 'AggregatingMergeTree()';
  const fsync = options.fsyncAfterInsert ? '\nSETTINGS fsync_after_insert = 1, fsync_part_directory = 1' : '';
  return `CREATE TABLE IF NOT EXISTS ${ident(options.database)}.${ident(RECORD_TIMES_TABLE)}${cluster} (
    record_key String,
    workspace SimpleAggregateFunction(any, String),
    kind SimpleAggregateFunction(any, String),
    record_id SimpleAggregateFunction(any, String),
    first_received_unix_nano SimpleAggregateFunction(min, Int64)
) ENGINE = ${engine}
ORDER BY record_key${fsync}`;
}

/** Fixed-size and free of quoting concerns, whatever the client's id holds. */
function recordKey(workspace: string, kind: string, id: string): string {
  return createHash('sha256').update(`${workspace}\u0000${kind}\u0000${id}`, 'utf8').digest('hex').slice(0, 32);
}

interface Pending {
  row: { record_key: string; workspace: string; kind: string; record_id: string; first_received_unix_nano: string };
  resolve(value: bigint): void;
  reject(err: unknown): void;
}

const shared = new WeakMap<TraceStore, RecordTimes>();

export class RecordTimes {
  private readonly cache: LRUCache<string, bigint>;
  /** Keys being looked up, queued or in the running round: a second request joins the first. */
  private readonly unresolved = new Map<string, Promise<bigint>>();
  private queue = new Map<string, Pending>();
  private roundRunning = false;
  private roundScheduled = false;
  private tableCreated: Promise<void> | undefined;

  /**
   * The instance for a store, shared by every receiver writing to it, so their look-ups batch
   * together. Without a store (a pipeline that only forwards) times are kept in memory only:
   * replays collapse until the daemon restarts.
   */
  static forStore(store: TraceStore | undefined, logger: Logger): RecordTimes {
    if (!store) return new RecordTimes(undefined, logger);
    let times = shared.get(store);
    if (!times) {
      times = new RecordTimes(store, logger);
      shared.set(store, times);
    }
    return times;
  }

  constructor(
    private readonly store: TraceStore | undefined,
    private readonly logger: Logger,
    maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    this.cache = new LRUCache({ max: maxEntries });
  }

  /**
   * The receive time to stamp on a record: the first time it was received, or `receivedAt` when
   * this is the first time (then recorded as such). Without an id, `receivedAt`. Rejects with a
   * retryable IngestError (503) when the store cannot be reached.
   */
  async receivedAt(workspace: string, kind: string, id: string | undefined, receivedAt: bigint): Promise<bigint> {
    if (id === undefined) return receivedAt;
    const key = recordKey(workspace, kind, id);
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const pending = this.unresolved.get(key);
    if (pending) return pending;
    if (!this.store) {
      this.cache.set(key, receivedAt);
      return receivedAt;
    }
    const lookup = new Promise<bigint>((resolve, reject) => {
      this.queue.set(key, {
        row: { record_key: key, workspace, kind, record_id: id, first_received_unix_nano: receivedAt.toString() },
        resolve,
        reject,
      });
    });
    this.unresolved.set(key, lookup);
    lookup.then(
      (time) => {
        this.unresolved.delete(key);
        this.cache.set(key, time);
      },
      () => this.unresolved.delete(key),
    );
    this.schedule();
    return lookup;
  }

  /**
   * The request as of the record's first receive: `receivedAtNanos` replaced by the record's first
   * receive time, for routes that stamp records with it.
   */
  async stamp<R extends { workspace: string; receivedAtNanos: bigint }>(request: R, kind: string, id: string | undefined): Promise<R> {
    if (id === undefined) return request;
    const first = await this.receivedAt(request.workspace, kind, id, request.receivedAtNanos);
    return first === request.receivedAtNanos ? request : { ...request, receivedAtNanos: first };
  }

  /** Group commit: what queues while a round runs goes in the next one. */
  private schedule(): void {
    if (this.roundRunning || this.roundScheduled) return;
    this.roundScheduled = true;
    setImmediate(() => {
      this.roundScheduled = false;
      void this.round();
    });
  }

  private async round(): Promise<void> {
    if (this.queue.size === 0) return;
    this.roundRunning = true;
    const batch: Pending[] = [];
    for (const [key, pending] of this.queue) {
      if (batch.length >= MAX_KEYS_PER_ROUND) break;
      batch.push(pending);
      this.queue.delete(key);
    }
    try {
      const first = await this.claim(batch);
      for (const pending of batch) {
        pending.resolve(first.get(pending.row.record_key) ?? BigInt(pending.row.first_received_unix_nano));
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), records: batch.length }, 'could not look up the first receive time of records');
      const refusal = new IngestError(
        503,
        'RCV_STORE_UNAVAILABLE',
        'the store that keeps the receive time of records with ids is unavailable; retry later',
        undefined,
        DEFAULT_RETRY_AFTER_SECONDS,
      );
      for (const pending of batch) pending.reject(refusal);
    } finally {
      this.roundRunning = false;
      if (this.queue.size > 0) this.schedule();
    }
  }

  /**
   * Writes this receive time for every record, then reads the earliest one recorded: a record
   * seen before keeps its first time, and two daemons receiving the same new record at once
   * agree once both have written.
   */
  private async claim(batch: readonly Pending[]): Promise<Map<string, bigint>> {
    const store = this.store as TraceStore;
    const rows = batch.map((pending) => pending.row);
    try {
      await store.insertRows(RECORD_TIMES_TABLE, rows);
    } catch (err) {
      if (!isUnknownTable(err)) throw err;
      // Normally the clickhouse exporter creates the table with its schema; this covers a store
      // whose schema is not ready yet.
      this.tableCreated ??= store.command(recordTimesTableDdl({ database: store.database }));
      await this.tableCreated.catch((createErr: unknown) => {
        this.tableCreated = undefined;
        throw createErr;
      });
      await store.insertRows(RECORD_TIMES_TABLE, rows);
    }
    const keys = [...new Set(rows.map((row) => `'${row.record_key}'`))].join(', ');
    // A primary-key look-up of a few keys: one thread, not a pool spun up per round; and no FINAL
    // (min() does what FINAL would), which cost 17 instead of 5 ms per look-up with 200 parts
    // awaiting merges.
    const found = await store.selectRows<{ record_key: string; first: string }>(
      `SELECT record_key, toString(min(first_received_unix_nano)) AS first
FROM ${ident(store.database)}.${ident(RECORD_TIMES_TABLE)}
WHERE record_key IN (${keys})
GROUP BY record_key
SETTINGS max_threads = 1, final = 0`,
    );
    return new Map(found.map((row) => [row.record_key, BigInt(row.first)]));
  }
}

/** UNKNOWN_TABLE (60), from the embedded engine or a server. */
function isUnknownTable(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const fields = err as { code?: unknown; clickhouseCode?: unknown; message?: unknown };
  if (fields.clickhouseCode === 60 || fields.code === '60') return true;
  return typeof fields.message === 'string' && /^Code: 60\.|UNKNOWN_TABLE/.test(fields.message);
}
