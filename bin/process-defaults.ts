import v8 from 'node:v8';

/**
 * What the daemon's process needs before the embedded engine and libuv's thread pool start, so
 * this module is the binary's first import. An operator's own value of each variable wins.
 *
 * - UV_THREADPOOL_SIZE 16: the embedded engine runs every statement and insert on libuv's thread
 *   pool (4 threads by default); analyst statements may hold up to max_concurrent_queries of them
 *   until the engine's time limit, and a larger pool keeps threads free for inserts and file I/O.
 * - JE_MALLOC_CONF: the engine's allocator keeps freed pages for 10 s by default, so the daemon's
 *   peak RSS carried the garbage of every merge of the last seconds. Returned after 0.5 s (also
 *   while the daemon idles: a process that freed 1 GiB dropped back to 244 MiB within 3 s), peak
 *   RSS under OTLP/HTTP load went from 1,025-1,074 to 958-959 MiB with no change in CPU per span
 *   beyond the run-to-run noise (npm run bench, 2026-12-07).
 */
export const PROCESS_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  UV_THREADPOOL_SIZE: '16',
  JE_MALLOC_CONF: 'background_thread:true,dirty_decay_ms:500,muzzy_decay_ms:0',
};

export function applyEnvDefaults(env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(PROCESS_ENV_DEFAULTS)) env[name] ??= value;
}

applyEnvDefaults(process.env);

// V8's memory reducer shrinks the heap, the young generation included, once the process looks
// idle, and under the next load the young generation grew back too slowly: after a minute without
// traffic the daemon spent 30-50 % more JS time per span for the rest of the run (npm run bench
// with BENCH_PAUSE_SECONDS=60, 2026-12-07: OpenAI Agents route 17,394 -> 27,899 spans/s, JS main
// 46.9 -> 29.1 µs per span). A daemon's heap stays at what its load needs instead.
v8.setFlagsFromString('--no-memory-reducer');

// After each full collection V8 lets the old generation grow to up to four times what survived
// before the next one. Once the exporter stopped allocating a Buffer per call (fewer collections
// started by external memory), the heap of a daemon whose live data is about 85 MiB grew to 345
// MiB on the single-record routes, pushing peak RSS past 1 GiB. Twice is enough: the same phases
// peaked at 246-258 MiB of heap and 100 MiB less RSS (scratch run of every bench transport in one
// daemon, 2026-12-07), and OpenLLMetry-style runs alternating with and without it gave 24,875 /
// 24,397 spans/s at 66.9 / 65.5 µs against 22,472 / 18,819 at 71.7 / 85.5: no CPU cost seen.
v8.setFlagsFromString('--heap-growing-percent=100');
