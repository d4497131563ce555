/**
 * The narrow side tables the logs API reads instead of the spans table: one row per log, fed by
 * materialized views from otel_traces (spans with tracehouse.record_type = 'log', passed through
 * the Null table tracehouse_log_spans so that inserts without logs do not run the views), created
 * by the read_api extension at start and backfilled once from the logs already stored.
 *
 * - `tracehouse_log_index`: ORDER BY (workspace, timestamp, log_key = hash of log_id), by month; lists,
 *   filters, sorts and the summary over a workspace and a time range.
 * - `tracehouse_log_by_project`: the same columns ORDER BY (workspace, project, timestamp,
 *   log_key), by month; lists filtered by project (and /api/logs/tasks?project) read one project's
 *   range of the key instead of the whole workspace.
 * - `tracehouse_log_ids`: the same columns ORDER BY (workspace, log_id); get, status, decisions
 *   and deletes by id are primary-key lookups. Since step 8 its view is the only one that reads
 *   log spans; the two list tables copy the rows it writes.
 *
 * All are ReplacingMergeTree read with FINAL (the store's reader session), so a replayed log
 * counts once. On a store with a cluster (the exporter's cluster_name) every statement runs
 * ON CLUSTER and the engines are Replicated ones (core/clickhouse/cluster-ddl.ts). The ids table also keeps each log's text (input, output) and the attributes a get
 * answers (findings, metadata, ...), in small granules, so a get never reads the spans table.
 */
import type { TraceStore } from '../../core/component';
import { clusterEngine, onClusterClause } from '../../core/clickhouse/cluster-ddl';
import { errorMessage } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { Logger } from '../../core/logger';
import { SPANS_TABLE, sqlString, tableOf } from './projects-sql';

export const LOG_INDEX_TABLE = 'tracehouse_log_index';
export const LOG_IDS_TABLE = 'tracehouse_log_ids';
export const LOG_PROJECT_TABLE = 'tracehouse_log_by_project';
/** Null engine: log spans pass through it to the two views, nothing is stored. */
export const LOG_SPANS_TABLE = 'tracehouse_log_spans';
const MIGRATIONS_TABLE = 'tracehouse_schema_migrations';

const COLUMNS = `
    workspace LowCardinality(String),
    log_id String,
    log_key UInt64,
    timestamp DateTime64(9),
    project LowCardinality(String),
    task LowCardinality(String),
    model LowCardinality(String),
    session String,
    subject String,
    actor String,
    status LowCardinality(String),
    latency_ms Nullable(Float64),
    cost_usd Nullable(Float64),
    confidence Nullable(Float64),
    explanation String,
    tags Array(String),
    trace_id String,
    span_id String,
    service_name LowCardinality(String),
    span_name LowCardinality(String),
    callback_url String,
    callback_events LowCardinality(String),
    attachment_refs Array(String)`;
const COLUMN_NAMES = COLUMNS.trim().split('\n').map((line) => line.trim().split(' ')[0]);

/** What a single log adds, kept only in the ids table: its text and the attributes a get answers. */
const DETAIL_COLUMNS = `,
    input String CODEC(ZSTD(3)),
    output String CODEC(ZSTD(3)),
    detail Map(LowCardinality(String), String) CODEC(ZSTD(3))`;
const DETAIL_KEYS = ['tracehouse.findings', 'tracehouse.input_text', 'tracehouse.confidence', 'tracehouse.attachments'];

/** The spans table's columns the views read, as the staging table has them. */
const LOG_SPAN_COLUMNS = `
    Timestamp DateTime64(9),
    TraceId String,
    SpanId String,
    SpanName LowCardinality(String),
    ServiceName LowCardinality(String),
    SpanAttributes Map(LowCardinality(String), String),
    Duration UInt64,
    Workspace LowCardinality(String),
    Project LowCardinality(String),
    GenAIRequestModel LowCardinality(String),
    CostUsd Float64,
    Verdict LowCardinality(String),
    Input String,
    Output String`;
const LOG_SPAN_COLUMN_NAMES = LOG_SPAN_COLUMNS.trim().split('\n').map((line) => line.trim().split(' ')[0]);
const LOG_FILTER = `SpanAttributes['tracehouse.record_type'] = 'log' AND SpanAttributes['tracehouse.log_id'] != ''`;

/** One log span as an index row (the views' SELECT); with its text and detail for the ids table. */
function viewSelect(spans: string, withDetail = false): string {
  const attr = (key: string) => `SpanAttributes[${sqlString(key)}]`;
  const findings = `JSONExtractArrayRaw(${attr('tracehouse.findings')})`;
  const judged = `arrayMap(f -> JSONExtractFloat(f, 'confidence'), arrayFilter(f -> JSONHas(f, 'confidence'), ${findings}))`;
  const tagsText = attr('metadata.tags');
  return `SELECT
    Workspace AS workspace,
    ${attr('tracehouse.log_id')} AS log_id,
    cityHash64(log_id) AS log_key,
    Timestamp AS timestamp,
    Project AS project,
    ${attr('tracehouse.task')} AS task,
    GenAIRequestModel AS model,
    ${attr('gen_ai.conversation.id')} AS session,
    ${attr('tracehouse.subject_id')} AS subject,
    ${attr('tracehouse.actor_id')} AS actor,
    if(Verdict IN ('pass', 'flagged', 'error'), Verdict, 'pending') AS status,
    if(Duration > 0, Duration / 1e6, NULL) AS latency_ms,
    if(mapContains(SpanAttributes, 'tracehouse.cost_usd'), CostUsd, NULL) AS cost_usd,
    if(empty(${judged}), toFloat64OrNull(${attr('tracehouse.confidence')}), arrayMin(${judged})) AS confidence,
    substring(arrayStringConcat(arrayMap(f -> concat(JSONExtractString(f, 'ruleName'), ': ', if(JSONExtractString(f, 'detail') != '', JSONExtractString(f, 'detail'), JSONExtractString(f, 'outcome'))), arrayFilter(f -> JSONExtractString(f, 'outcome') != 'passed', ${findings})), '; '), 1, 1000) AS explanation,
    arrayFilter(t -> t != '', arrayMap(t -> trimBoth(t), if(startsWith(${tagsText}, '['), JSONExtract(${tagsText}, 'Array(String)'), splitByChar(',', ${tagsText})))) AS tags,
    TraceId AS trace_id,
    SpanId AS span_id,
    ServiceName AS service_name,
    SpanName AS span_name,
    ${attr('tracehouse.callback.url')} AS callback_url,
    ${attr('tracehouse.callback.events')} AS callback_events,
    extractAll(${attr('tracehouse.attachments')}, 'sha256:[0-9a-f]{64}') AS attachment_refs${
      withDetail
        ? `,
    Input AS input,
    Output AS output,
    mapFilter((k, v) -> k IN (${DETAIL_KEYS.map(sqlString).join(', ')}) OR startsWith(k, 'metadata.'), SpanAttributes) AS detail`
        : ''
    }
FROM ${spans}
WHERE ${LOG_FILTER}`;
}

const shared = new WeakMap<TraceStore, LogIndex>();

interface Step {
  version: number;
  description: string;
  statements: (store: TraceStore) => string[];
}

const table = (store: TraceStore, name: string) => tableOf(store, name);
/** ` ON CLUSTER <name>` on a clustered store. */
const cluster = (store: TraceStore) => onClusterClause(store.clusterName);
/** The table's ReplacingMergeTree engine: Replicated on a clustered store. */
const replacing = (store: TraceStore) => clusterEngine(store.clusterName, 'ReplacingMergeTree');
/** The columns `q` searches, lowercased, one per line (a q holding a line break is matched column by column). */
export const SEARCH_COLUMNS = ['project', 'task', 'model', 'session', 'subject', 'actor'] as const;
export const SEARCH_SEPARATOR = '\n';
const SEARCH_TEXT = `lowerUTF8(concatWithSeparator('\\n', ${SEARCH_COLUMNS.join(', ')}))`;
/** n of the search index's n-grams: a q shorter than this reads every granule. */
const SEARCH_NGRAM = 4;
const SKIP_INDEXES = `
    INDEX idx_session session TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_subject subject TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_actor actor TYPE bloom_filter(0.01) GRANULARITY 1`;

/** Append-only, as the exporter's migrations: each statement idempotent, recorded once done. */
const STEPS: readonly Step[] = [
  {
    version: 1,
    description: 'create log index tables',
    statements: (s) => [
      // log_key (a hash of log_id) keeps the key FINAL reads narrow; the bloom filters skip the
      // granules without a session, subject or actor (a conversation's logs sit close in time).
      `CREATE TABLE IF NOT EXISTS ${table(s, LOG_INDEX_TABLE)}${cluster(s)} (${COLUMNS},${SKIP_INDEXES}
) ENGINE = ${replacing(s)}
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace, timestamp, log_key)`,
      // Small granules: a lookup by id reads a few hundred rows, text included.
      `CREATE TABLE IF NOT EXISTS ${table(s, LOG_IDS_TABLE)}${cluster(s)} (${COLUMNS}${DETAIL_COLUMNS}
) ENGINE = ${replacing(s)}
ORDER BY (workspace, log_id)
SETTINGS index_granularity = 256`,
    ],
  },
  {
    version: 2,
    description: 'create log index views',
    statements: (s) => [
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_INDEX_TABLE}_mv`)}${cluster(s)} TO ${table(s, LOG_INDEX_TABLE)} AS ${viewSelect(table(s, SPANS_TABLE))}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_IDS_TABLE}_mv`)}${cluster(s)} TO ${table(s, LOG_IDS_TABLE)} AS ${viewSelect(table(s, SPANS_TABLE), true)}`,
    ],
  },
  {
    // After the views exist: a log inserted meanwhile lands twice, the same row, collapsed by FINAL.
    version: 3,
    description: 'backfill log index from stored logs',
    statements: (s) => [
      `INSERT INTO ${table(s, LOG_INDEX_TABLE)} ${viewSelect(table(s, SPANS_TABLE))}`,
      `INSERT INTO ${table(s, LOG_IDS_TABLE)} ${viewSelect(table(s, SPANS_TABLE), true)}`,
    ],
  },
  {
    // ClickHouse plans every view of a table on every insert into it, rows or not: the two log
    // views cost each span insert ~10 ms (measured), though most inserts hold no log. Now one
    // plain filter view copies log spans into a Null table (nothing stored), and the two views
    // hang off that, planned only when an insert holds logs. The new views start before the old
    // ones are dropped: a log inserted meanwhile lands twice, the same row, collapsed by FINAL.
    version: 4,
    description: 'feed the log views through a staging table',
    statements: (s) => [
      `CREATE TABLE IF NOT EXISTS ${table(s, LOG_SPANS_TABLE)}${cluster(s)} (${LOG_SPAN_COLUMNS}) ENGINE = Null`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_INDEX_TABLE}_feed`)}${cluster(s)} TO ${table(s, LOG_INDEX_TABLE)} AS ${viewSelect(table(s, LOG_SPANS_TABLE))}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_IDS_TABLE}_feed`)}${cluster(s)} TO ${table(s, LOG_IDS_TABLE)} AS ${viewSelect(table(s, LOG_SPANS_TABLE), true)}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_SPANS_TABLE}_mv`)}${cluster(s)} TO ${table(s, LOG_SPANS_TABLE)} AS SELECT ${LOG_SPAN_COLUMN_NAMES.join(', ')} FROM ${table(s, SPANS_TABLE)} WHERE ${LOG_FILTER}`,
      `DROP VIEW IF EXISTS ${table(s, `${LOG_INDEX_TABLE}_mv`)}${cluster(s)}`,
      `DROP VIEW IF EXISTS ${table(s, `${LOG_IDS_TABLE}_mv`)}${cluster(s)}`,
    ],
  },
  {
    // A project's logs are spread over the whole time-ordered index (every granule holds many
    // projects, so no skip index helps): lists filtered by project read this copy ordered by
    // project first. Backfilled from the index (not the spans); a log inserted meanwhile lands
    // twice, the same row, collapsed by FINAL.
    version: 5,
    description: 'create the project-ordered log index',
    statements: (s) => [
      `CREATE TABLE IF NOT EXISTS ${table(s, LOG_PROJECT_TABLE)}${cluster(s)} (${COLUMNS},${SKIP_INDEXES}
) ENGINE = ${replacing(s)}
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace, project, timestamp, log_key)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_PROJECT_TABLE}_feed`)}${cluster(s)} TO ${table(s, LOG_PROJECT_TABLE)} AS ${viewSelect(table(s, LOG_SPANS_TABLE))}`,
      `INSERT INTO ${table(s, LOG_PROJECT_TABLE)} (${COLUMN_NAMES.join(', ')}) SELECT ${COLUMN_NAMES.join(', ')} FROM ${table(s, LOG_INDEX_TABLE)}`,
    ],
  },
  {
    // A log stored without a verdict (no evaluate_rules in its pipeline) is `pending`, no longer
    // `pass`. Views cannot change their query in place: new views start before the old ones
    // are dropped (a log inserted in between lands twice, one row per table after FINAL). Rows
    // stored before keep the status they were given.
    version: 6,
    description: 'logs without a verdict are pending',
    statements: (s) => [
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_INDEX_TABLE}_feed_v6`)}${cluster(s)} TO ${table(s, LOG_INDEX_TABLE)} AS ${viewSelect(table(s, LOG_SPANS_TABLE))}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${LOG_IDS_TABLE}_feed_v6`)}${cluster(s)} TO ${table(s, LOG_IDS_TABLE)} AS ${viewSelect(table(s, LOG_SPANS_TABLE), true)}`,
      `DROP VIEW IF EXISTS ${table(s, `${LOG_INDEX_TABLE}_feed`)}${cluster(s)}`,
      `DROP VIEW IF EXISTS ${table(s, `${LOG_IDS_TABLE}_feed`)}${cluster(s)}`,
    ],
  },
  {
    // `q` searches six columns case-insensitively: one lowercased copy of them (computed at insert,
    // and on read for parts stored before) is one substring scan instead of six, and its n-gram
    // bloom filter lets a search for an id (a session, a customer) read only the granules that
    // may hold it. Old parts get the index from a background mutation; until then they are read
    // whole, with the same answer.
    version: 7,
    description: 'a search column with an n-gram index for q',
    statements: (s) =>
      [LOG_INDEX_TABLE, LOG_PROJECT_TABLE].flatMap((name) => [
        `ALTER TABLE ${table(s, name)}${cluster(s)} ADD COLUMN IF NOT EXISTS search String MATERIALIZED ${SEARCH_TEXT} CODEC(ZSTD(1))`,
        `ALTER TABLE ${table(s, name)}${cluster(s)} ADD INDEX IF NOT EXISTS idx_search search TYPE ngrambf_v1(${SEARCH_NGRAM}, 16384, 3, 0) GRANULARITY 1`,
        `ALTER TABLE ${table(s, name)}${cluster(s)} MATERIALIZE INDEX idx_search`,
      ]),
  },
  {
    // Three views evaluated the same SELECT (JSON extraction of findings and tags) on every log
    // insert. The ids table's view keeps it; the time- and project-ordered tables now copy their
    // columns from the rows it writes (views on the ids table: a cascade within the insert). In
    // alternating runs of the logs route this took an insert of 31 logs from about 122 to 96 ms.
    // The new views start before the old ones are dropped: a log inserted in between lands twice,
    // the same row, collapsed by FINAL.
    version: 8,
    description: 'feed the list tables from the ids table',
    statements: (s) => [
      ...[LOG_INDEX_TABLE, LOG_PROJECT_TABLE].map(
        (name) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table(s, `${name}_from_ids`)}${cluster(s)} TO ${table(s, name)} AS SELECT ${COLUMN_NAMES.join(', ')} FROM ${table(s, LOG_IDS_TABLE)}`,
      ),
      `DROP VIEW IF EXISTS ${table(s, `${LOG_INDEX_TABLE}_feed_v6`)}${cluster(s)}`,
      `DROP VIEW IF EXISTS ${table(s, `${LOG_PROJECT_TABLE}_feed`)}${cluster(s)}`,
    ],
  },
];

/** Every statement of the log index's migrations for `store`, in order (tests read the DDL). */
export function logIndexStatements(store: TraceStore): string[] {
  return STEPS.flatMap((step) => step.statements(store));
}

/**
 * Creates the side tables and views once per store, backfilling them from the logs already
 * stored. Concurrent callers share one run; a failed run is retried by the next caller.
 */
export class LogIndex {
  private ready: Promise<void> | undefined;

  /** One index per store, shared by every route module (and deleteLogs). */
  static forStore(store: TraceStore, logger: Logger = silentLogger()): LogIndex {
    let index = shared.get(store);
    if (!index) shared.set(store, (index = new LogIndex(store, logger)));
    return index;
  }

  constructor(
    readonly store: TraceStore,
    private readonly logger: Logger,
  ) {}

  ensure(): Promise<void> {
    this.ready ??= this.migrate().catch((err: unknown) => {
      this.ready = undefined;
      this.logger.error({ err: errorMessage(err) }, 'read_api: the log index could not be created; retrying on the next request');
      throw err;
    });
    return this.ready;
  }

  private async migrate(): Promise<void> {
    const store = this.store;
    // The exporter created both at its start; created here too for a store started without spans yet.
    await store.command(
      `CREATE TABLE IF NOT EXISTS ${table(store, MIGRATIONS_TABLE)}${cluster(store)} (table_name String, version UInt32, description String, applied_at DateTime64(3)) ENGINE = ${replacing(store)} ORDER BY (table_name, version)`,
    );
    const done = new Set(
      (await store.selectRows<{ version: number | string }>(`SELECT version FROM ${table(store, MIGRATIONS_TABLE)} WHERE table_name = ${sqlString(LOG_INDEX_TABLE)}`)).map((r) => Number(r.version)),
    );
    for (const step of STEPS) {
      if (done.has(step.version)) continue;
      const started = Date.now();
      for (const statement of step.statements(store)) await store.command(statement);
      await store.command(
        `INSERT INTO ${table(store, MIGRATIONS_TABLE)} (table_name, version, description, applied_at) VALUES (${sqlString(LOG_INDEX_TABLE)}, ${step.version}, ${sqlString(step.description)}, now64(3))`,
      );
      this.logger.info({ step: step.description, ms: Date.now() - started }, 'read_api: log index migrated');
    }
  }
}

/** The index columns every read selects, typed as the reads get them (JSON output). */
export const INDEX_COLUMNS =
  'log_id, toString(toUnixTimestamp64Nano(timestamp)) AS ts_ns, project, task, model, session, subject, actor, status, latency_ms, cost_usd, confidence, explanation, tags, trace_id, span_id, service_name, span_name, callback_url, callback_events, attachment_refs';

export interface IndexRow {
  log_id: string;
  ts_ns: string;
  project: string;
  task: string;
  model: string;
  session: string;
  subject: string;
  actor: string;
  status: string;
  latency_ms: number | null;
  cost_usd: number | null;
  confidence: number | null;
  explanation: string;
  tags: string[];
  trace_id: string;
  span_id: string;
  service_name: string;
  span_name: string;
  callback_url: string;
  callback_events: string;
  attachment_refs: string[];
}

/** The index rows of some logs of one workspace (primary-key lookups on tracehouse_log_ids). */
export async function rowsByIds(store: TraceStore, workspace: string, ids: readonly string[]): Promise<IndexRow[]> {
  if (ids.length === 0) return [];
  return store.selectRows<IndexRow>(
    `SELECT ${INDEX_COLUMNS} FROM ${table(store, LOG_IDS_TABLE)} WHERE workspace = ${sqlString(workspace)} AND log_id IN (${ids.map(sqlString).join(', ')})`,
  );
}

/** ISO 8601 (milliseconds) of nanoseconds since the epoch as text. */
export function isoOfNanos(ns: string): string {
  const ms = Number(BigInt(ns) / 1_000_000n);
  return new Date(Number.isFinite(ms) ? ms : 0).toISOString();
}
