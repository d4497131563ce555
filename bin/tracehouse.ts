#!/usr/bin/env node
import { registry } from '../components';
import { runCli } from '../core/cli';

// The embedded engine runs every statement and insert on libuv's thread pool (4 threads by
// default). Analyst statements may hold up to max_concurrent_queries of them until the engine's
// time limit; a larger pool keeps threads free for inserts and file I/O. Read when the pool first
// starts, which is after this line.
process.env.UV_THREADPOOL_SIZE ??= '16';

runCli(process.argv.slice(2), registry).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tracehouse: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
