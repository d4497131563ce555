#!/usr/bin/env node
import v8 from 'node:v8';
import { registry } from '../components';
import { runCli } from '../core/cli';

// The embedded engine runs every statement and insert on libuv's thread pool (4 threads by
// default). Analyst statements may hold up to max_concurrent_queries of them until the engine's
// time limit; a larger pool keeps threads free for inserts and file I/O. Read when the pool first
// starts, which is after this line.
process.env.UV_THREADPOOL_SIZE ??= '16';

// V8's memory reducer shrinks the heap, the young generation included, once the process looks
// idle, and under the next load the young generation grew back too slowly: after a minute without
// traffic the daemon spent 30-50 % more JS time per span for the rest of the run (npm run bench
// with BENCH_PAUSE_SECONDS=60, 2026-12-07: OpenAI Agents route 17,394 -> 27,899 spans/s, JS main
// 46.9 -> 29.1 µs per span). A daemon's heap stays at what its load needs instead.
v8.setFlagsFromString('--no-memory-reducer');

runCli(process.argv.slice(2), registry).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tracehouse: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
