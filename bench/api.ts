/**
 * `npm run bench:api`: the logs API at volume. Starts a daemon in this process (logs receiver,
 * evaluate_rules, embedded ClickHouse, read_api on one listener), stores BENCH_API_LOGS logs
 * (default 1,000,000) across 100 projects and 10,000 sessions (each a run of consecutive logs of one project) over 90 days straight into
 * otel_traces in large INSERT ... SELECT batches (the materialized views fill the log index as
 * they would from ingest), then measures each read route through HTTP and prints p50/p99:
 * get-by-id, status, filtered lists' first pages (project, session, q, tags), the unfiltered first
 * page with its all-time summary, the summary over a month, task names, projects and a project's
 * tasks, the agent task list and one task, the incidents list, single deletes and bulk decisions
 * of 1,000 ids. Each route's first request (cold caches) is printed on its own; p50 and p99 are of
 * the runs after a few untimed warm-up requests. Targets (2 cores): p99 ≤ 100 ms get/status/list,
 * ≤ 500 ms summary, ≤ 2 s bulk.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { registry } from '../components';
import { acquireEmbeddedSession } from '../core/clickhouse/embedded-engine';
import { formatDiagnostic } from '../core/config/diagnostics';
import { loadConfigText } from '../core/config/load-config';
import { silentLogger } from '../core/logger';
import { Service } from '../core/service';
import { percentile } from './harness';

const LOGS = Number(process.env.BENCH_API_LOGS ?? 1_000_000);
const BATCH = 100_000;
const PROJECTS = 100;
const SESSIONS = 10_000;
const DAYS = 90;
const KEY = 'th_bench_api_0123456789abcdef';
const DATABASE = 'bench_api';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(port: number, dataDir: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:${port}
    attachments_dir: ${dataDir}/attachments
processors:
  evaluate_rules:
    rules:
      - { id: no-refunds, name: No refunds, type: keyword_forbidden, value: refund }
  # No rules: only so that the incidents routes have their tables (the list is measured empty).
  alert:
    evaluation_interval_seconds: 3600
exporters:
  clickhouse:
    path: ${dataDir}/clickhouse
    database: ${DATABASE}
extensions:
  read_api:
    listen: 127.0.0.1:${port}
    attachments_dir: ${dataDir}/attachments
    rate_limit: { limit: 1000000, window_seconds: 60 }
workspaces:
  bench:
    api_keys: ["${KEY}"]
service:
  extensions: [read_api]
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules, alert], exporters: [clickhouse] }
`;
}

/** Logs [from, from + count) as one INSERT ... SELECT: deterministic fields from the log number. */
function insertStatement(from: number, count: number, startMs: number): string {
  const spanMs = DAYS * 86_400_000;
  return `INSERT INTO ${DATABASE}.otel_traces (Timestamp, TraceId, SpanId, SpanName, SpanKind, ServiceName, SpanAttributes, Duration, StatusCode, Workspace, Project, GenAIRequestModel, CostUsd, Verdict, Output)
SELECT
  fromUnixTimestamp64Milli(toInt64(${startMs} + intDiv(number * ${spanMs}, ${LOGS}))) AS ts,
  lower(hex(MD5(toString(number)))) AS trace_id,
  substring(lower(hex(MD5(concat('s', toString(number))))), 1, 16) AS span_id,
  concat('task-', toString(number % 7)) AS task,
  'Internal', '',
  map('tracehouse.record_type', 'log', 'tracehouse.log_id', concat('log-', toString(number)), 'tracehouse.project', project,
      'tracehouse.task', task, 'gen_ai.request.model', model, 'gen_ai.conversation.id', concat('sess-', toString(intDiv(number, ${Math.max(1, Math.floor(LOGS / SESSIONS))}))),
      'tracehouse.subject_id', concat('cust-', toString(number % 50000)), 'tracehouse.cost_usd', toString(cost),
      'tracehouse.verdict', verdict, 'tracehouse.workspace', 'bench', 'metadata.tags', concat('tag-', toString(number % 10)),
      'tracehouse.findings', if(verdict = 'pass', '[]', concat('[{"ruleId":"no-refunds","ruleName":"No refunds","ruleType":"keyword_forbidden","ruleValue":"refund","scope":"global","severity":"medium","outcome":"', if(verdict = 'flagged', 'triggered', 'error'), '","detail":"forbidden keyword"}]'))),
  toUInt64(50 + number % 2000) * 1000000,
  'Unset', 'bench',
  concat('project-', toString(intDiv(number, ${Math.max(1, Math.floor(LOGS / SESSIONS))}) % ${PROJECTS})) AS project,
  ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'][number % 3 + 1] AS model,
  (number % 1000) / 100000 AS cost,
  multiIf(number % 20 = 0, 'error', number % 7 = 0, 'flagged', 'pass') AS verdict,
  concat('[{"role":"assistant","parts":[{"type":"text","content":"Answer number ', toString(number), '"}]}]')
FROM numbers(${from}, ${count})`;
}

/**
 * Untimed requests that warm each route before it is measured: the first ones read cold caches,
 * and the engine compiles a query's expressions to machine code once they have run three times
 * (min_count_to_compile_expression), a one-off per daemon that the fourth request pays.
 */
const WARM_UP = 5;

interface Timing {
  /** The route's first request, before any warm-up: cold caches. */
  first: number;
  /** The measured requests, sorted. */
  times: number[];
}

/** `runs` measured requests after WARM_UP untimed ones (request numbers runs.. for those, so ids differ). */
async function timed(runs: number, request: (i: number) => Promise<Response>): Promise<Timing> {
  const once = async (i: number): Promise<number> => {
    const started = performance.now();
    const res = await request(i);
    const body = await res.arrayBuffer();
    if (!res.ok) throw new Error(`request ${i} answered ${res.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
    return performance.now() - started;
  };
  const first = await once(runs);
  for (let i = 1; i < WARM_UP; i += 1) await once(runs + i);
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) times.push(await once(i));
  return { first, times: times.sort((a, b) => a - b) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-api-'));
  const port = await freePort();
  const { config: parsed, diagnostics } = loadConfigText(config(port, dataDir), 'bench-api.yaml', registry, { env: process.env });
  if (!parsed) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  const service = new Service(parsed, { logger: silentLogger() });
  await service.start();
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${KEY}` };
  const get = (route: string) => fetch(`${base}${route}`, { headers });
  try {
    // The first read creates the log index (and its views) before the logs are stored.
    if (!(await get('/api/logs?limit=1')).ok) throw new Error('the logs API did not answer');
    const writer = acquireEmbeddedSession(path.join(dataDir, 'clickhouse'), 'writer');
    const startMs = Date.now() - DAYS * 86_400_000;
    const insertStarted = performance.now();
    for (let from = 0; from < LOGS; from += BATCH) await writer.session.queryAsync(insertStatement(from, Math.min(BATCH, LOGS - from), startMs));
    const insertSeconds = (performance.now() - insertStarted) / 1000;
    // Measured in steady state: the background merges of the freshly inserted parts are let finish (at most 2 minutes).
    const mergeStarted = performance.now();
    while (performance.now() - mergeStarted < 120_000) {
      const merges = (await writer.session.queryAsync(`SELECT count() FROM system.merges WHERE database = '${DATABASE}'`, { format: 'TSV' })).text().trim();
      if (merges === '0') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const mergeSeconds = (performance.now() - mergeStarted) / 1000;
    const stored = (await (await get('/api/logs?limit=1')).json()) as { total: number };
    await writer.release();
    console.log(`${new Date().toISOString()}  bench:api  ${LOGS.toLocaleString('en-US')} logs, ${PROJECTS} projects, ${SESSIONS.toLocaleString('en-US')} sessions, ${DAYS} days (embedded ClickHouse, ${os.cpus().length} CPUs)`);
    console.log(`stored through otel_traces and the index views in ${insertSeconds.toFixed(1)} s, background merges settled ${mergeSeconds.toFixed(1)} s later; GET /api/logs total = ${stored.total}`);

    const id = (i: number) => `log-${(i * 7919 + 13) % LOGS}`;
    const monthFrom = new Date(startMs + 30 * 86_400_000).toISOString();
    const monthTo = new Date(startMs + 60 * 86_400_000).toISOString();
    const results: [string, Timing, number][] = [];
    results.push(['GET /api/logs/:id', await timed(200, (i) => get(`/api/logs/${id(i)}`)), 100]);
    results.push(['GET /api/logs/:id/status', await timed(200, (i) => get(`/api/logs/${id(i + 500)}/status`)), 100]);
    results.push(['GET /api/logs?project&status=flagged (page 1)', await timed(100, (i) => get(`/api/logs?project=project-${i % PROJECTS}&status=flagged&limit=25`)), 100]);
    results.push(['GET /api/logs?project&from&to&sortBy=costUsd', await timed(100, (i) => get(`/api/logs?project=project-${i % PROJECTS}&from=${monthFrom}&to=${monthTo}&sortBy=costUsd&limit=50`)), 100]);
    results.push(['GET /api/logs?sessionId (page 1)', await timed(100, (i) => get(`/api/logs?sessionId=sess-${(i * 37) % SESSIONS}`)), 100]);
    results.push(['GET /api/logs?q (page 1)', await timed(50, (i) => get(`/api/logs?q=sess-${(i * 53) % SESSIONS}`)), 100]);
    results.push(['GET /api/logs?q=GPT (page 1, 2 in 3 logs match)', await timed(30, () => get('/api/logs?q=GPT')), 100]);
    results.push(['GET /api/logs?tags (page 1)', await timed(50, (i) => get(`/api/logs?tags=tag-${i % 10}`)), 100]);
    results.push(['GET /api/logs (page 1, all-time summary)', await timed(30, () => get('/api/logs')), 500]);
    results.push(['GET /api/logs?from&to (summary over a month)', await timed(30, () => get(`/api/logs?from=${monthFrom}&to=${monthTo}&limit=25`)), 500]);
    results.push(['GET /api/logs?pending=true (page 1)', await timed(30, () => get('/api/logs?pending=true')), 500]);
    results.push(['GET /api/logs/tasks', await timed(30, () => get('/api/logs/tasks')), 100]);
    results.push(['GET /api/logs/tasks?project', await timed(50, (i) => get(`/api/logs/tasks?project=project-${i % PROJECTS}`)), 100]);
    results.push(['GET /api/projects', await timed(30, () => get('/api/projects')), 100]);
    const projects = (await (await get('/api/projects')).json()) as { id: string }[];
    if (projects.length > 0) results.push(['GET /api/projects/:id/tasks', await timed(50, (i) => get(`/api/projects/${projects[i % projects.length].id}/tasks`)), 100]);
    results.push(['GET /api/v1/tasks (last 7 days, page 1)', await timed(30, () => get('/api/v1/tasks')), 100]);
    // A log span that names a task makes its trace an agent task (trace id = MD5 of the log number).
    const traceOf = (i: number) => createHash('md5').update(String((i * 7919 + 13) % LOGS)).digest('hex');
    results.push(['GET /api/v1/tasks/:id', await timed(50, (i) => get(`/api/v1/tasks/${traceOf(i)}`)), 100]);
    results.push(['GET /v1/workspaces/:id/incidents', await timed(50, () => get('/v1/workspaces/bench/incidents')), 100]);
    results.push([
      'PATCH /api/logs/bulk (1,000 ids, approve/reject)',
      await timed(10, (run) =>
        fetch(`${base}/api/logs/bulk`, {
          method: 'PATCH',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ ids: Array.from({ length: 1000 }, (_, i) => `log-${(run * 1000 + i) * 97 % LOGS}`), action: run % 2 === 0 ? 'approve' : 'reject' }),
        }),
      ),
      2000,
    ]);
    results.push([
      'DELETE /api/logs/:id',
      await timed(20, (i) => fetch(`${base}/api/logs/log-${LOGS - 1 - i * 101}`, { method: 'DELETE', headers })),
      500,
    ]);
    console.log('');
    console.log('route'.padEnd(52) + 'runs'.padStart(6) + 'first ms'.padStart(10) + 'p50 ms'.padStart(10) + 'p99 ms'.padStart(10) + 'target'.padStart(10));
    for (const [name, { first, times }, target] of results) {
      const p99 = percentile(times, 99);
      console.log(
        name.padEnd(52) +
          String(times.length).padStart(6) +
          first.toFixed(1).padStart(10) +
          percentile(times, 50).toFixed(1).padStart(10) +
          p99.toFixed(1).padStart(10) +
          `${p99 <= target ? '≤' : '>'} ${target}`.padStart(10),
      );
    }
    console.log(`(first: a route's first request, on cold caches; p50/p99: the runs after ${WARM_UP} untimed warm-up requests)`);
  } finally {
    await service.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
