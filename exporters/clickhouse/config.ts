import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

/** Where the embedded engine keeps its data when neither `endpoint` nor `path` is configured. */
export const DEFAULT_EMBEDDED_PATH = './data/clickhouse';

// Database and table names end up in DDL and in chdb's insert prefix, which only accepts plain
// identifiers; restricting them here turns a confusing engine error into a config diagnostic.
const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier: letters, digits and _');

const retrySchema = z.strictObject({
  /** Wait before the first retry of a failed insert. */
  initial_interval_ms: z.int().min(1).default(500),
  /** Upper bound for one wait; waits double from initial_interval_ms up to this. */
  max_interval_ms: z.int().min(1).default(5_000),
  /**
   * Give up and reject the waiting consume calls once this much time has passed since the first
   * attempt. 0 disables retries. Unlike the Collector, 0 never means "forever": upstream (the
   * client, or the Kafka receiver) owns the long retry loop, and an unbounded retry here would
   * hold every request open.
   */
  max_elapsed_ms: z.int().min(0).default(30_000),
});

export const clickhouseExporterConfigSchema = z
  .strictObject({
    /** ClickHouse server HTTP(S) interface, e.g. http://clickhouse:8123. Selects server mode. */
    endpoint: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** Server mode user (default "default"). */
    username: z.string().optional(),
    /** Server mode password (default empty). */
    password: z.string().optional(),
    /**
     * Server mode: the user the admin query endpoint reads as, with only SELECT on `database`
     * (see the README's Security section for the grants). Default: the exporter's own user.
     */
    reader_username: z.string().optional(),
    reader_password: z.string().optional(),
    /** Embedded engine data directory. Selects embedded mode; the default when endpoint is unset. */
    path: z.string().min(1).optional(),
    /**
     * Embedded mode: directory (ideally tmpfs) where each insert's Native block is written for
     * `INSERT … FROM INFILE`, removed when the insert settles. Default /dev/shm when it exists,
     * else the OS temp directory. When it cannot be written, inserts fall back to inline
     * JSONEachRow (slower, same rows) with a warning.
     */
    spool_dir: z.string().min(1).optional(),
    /** Database for all tables; created when missing. */
    database: identifier.default('default'),
    /** Spans table; `<table>_trace_id_ts` and `<table>_trace_id_ts_mv` are derived from it. */
    table: identifier.default('otel_traces'),
    /** Days to keep spans (table TTL at creation); 0 keeps them forever. */
    ttl_days: z.int().min(0).default(0),
    /** Run DDL `ON CLUSTER` this cluster with Replicated* engines. */
    cluster_name: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a cluster name from remote_servers')
      .optional(),
    /**
     * fsync every part an insert writes (MergeTree settings fsync_after_insert and
     * fsync_part_directory on the spans, trace-id and record-time tables), so a 200 means the spans
     * are on disk, not only in the OS page cache. Applied at creation and to existing tables.
     */
    fsync_after_insert: z.boolean().default(false),
    /**
     * Keep the OpenTelemetry Collector's bloom-filter indexes on attribute values
     * (idx_res_attr_value, idx_span_attr_value). Default: true with `endpoint` (a server's table,
     * maybe shared with the Collector, keeps its schema), false embedded (they cost more than
     * the rest of the insert on attribute-heavy spans). Added or dropped on existing tables at start.
     */
    attribute_value_indexes: z.boolean().optional(),
    /** Upper bound of spans in one insert. */
    max_spans: z.int().min(1).default(5_000),
    /** Longest a span waits for its batch to fill before the batch is inserted anyway. */
    timeout_ms: z.int().min(0).default(200),
    /** Spans accepted but not yet written; beyond this consume refuses with EXP_QUEUE_FULL. */
    queue_max_spans: z.int().min(1).default(100_000),
    /** Bound for one insert attempt (and one schema statement). */
    insert_timeout_ms: z.int().min(1).default(30_000),
    retry: retrySchema.default({
      initial_interval_ms: 500,
      max_interval_ms: 5_000,
      max_elapsed_ms: 30_000,
    }),
  })
  .superRefine((config, ctx) => {
    if (config.endpoint !== undefined && config.path !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'set either endpoint (ClickHouse server) or path (embedded engine), not both',
      });
    }
    if (config.endpoint === undefined) {
      for (const key of ['username', 'password', 'reader_username', 'reader_password'] as const) {
        if (config[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} only applies with endpoint (the embedded engine has no users)`,
          });
        }
      }
    }
    if (config.endpoint !== undefined && config.spool_dir !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['spool_dir'],
        message: 'spool_dir only applies to the embedded engine (a server receives blocks over HTTP)',
      });
    }
    if (config.retry.max_interval_ms < config.retry.initial_interval_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['retry', 'max_interval_ms'],
        message: 'must be at least retry.initial_interval_ms',
      });
    }
  });

export type ClickhouseExporterConfig = z.output<typeof clickhouseExporterConfigSchema>;

export type ClickhouseTarget =
  | { mode: 'server'; endpoint: string; username: string; password: string; reader?: { username: string; password: string } }
  | { mode: 'embedded'; path: string; spoolDir: string };

/** The one place that decides server vs embedded, so the default path is not repeated. */
export function resolveTarget(config: ClickhouseExporterConfig): ClickhouseTarget {
  if (config.endpoint !== undefined) {
    return {
      mode: 'server',
      endpoint: config.endpoint,
      username: config.username ?? 'default',
      password: config.password ?? '',
      reader:
        config.reader_username === undefined
          ? undefined
          : { username: config.reader_username, password: config.reader_password ?? '' },
    };
  }
  return { mode: 'embedded', path: config.path ?? DEFAULT_EMBEDDED_PATH, spoolDir: config.spool_dir ?? defaultSpoolDir() };
}

/** tmpfs when the system has one where Linux puts it: the spool then never touches a disk. */
function defaultSpoolDir(): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm (macOS, some containers)
  }
  return os.tmpdir();
}
