/**
 * The batcher's group-commit rule, with a write function the test settles by hand: a lone call on
 * an idle exporter goes at once; the wave of calls that arrives while an insert runs goes as one
 * insert when it ends; a second insert runs beside the first only when a batch is full.
 */
import { makeSpan } from '../../../core/span';
import { Batcher, Waiter, type Chunk } from '../../../exporters/clickhouse/batcher';

interface Write {
  spans: number;
  finish(): void;
}

function harness(options: { maxSpans?: number; timeoutMs?: number } = {}) {
  const writes: Write[] = [];
  let notify: (() => void) | undefined;
  const batcher = new Batcher({
    maxSpans: options.maxSpans ?? 1000,
    maxPartitions: 48,
    timeoutMs: options.timeoutMs ?? 60_000,
    capacity: 100_000,
    maxInFlight: 2,
    write: (chunks) =>
      new Promise<void>((resolve) => {
        writes.push({
          spans: chunks.reduce((n, c) => n + c.spans, 0),
          finish: () => {
            for (const c of chunks) c.waiter.partWritten();
            resolve();
          },
        });
        notify?.();
      }),
    onQueueChange: () => undefined,
  });
  const span = makeSpan({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 's' });
  const call = (spans: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const chunk: Chunk<unknown[]> = { rows: Array(spans).fill(span), spans, partitions: [0], waiter: new Waiter(1, resolve, reject) };
      batcher.add([chunk]);
    });
  /** Resolves once `count` writes have started. */
  const writesStarted = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (writes.length >= count) resolve();
      };
      notify = check;
      check();
    });
  /** Lets settled writes run their continuations. */
  const flushMicrotasks = () => new Promise((resolve) => setImmediate(resolve));
  return { batcher, writes, call, writesStarted, flushMicrotasks };
}

/** One call written, 30 more arriving meanwhile and written together (3,000 spans) once it ended; the second write is still running. */
async function afterAWave(): Promise<ReturnType<typeof harness>> {
  const h = harness({ maxSpans: 10_000 });
  const first = h.call(100);
  for (let i = 0; i < 30; i++) void h.call(100);
  h.writes[0].finish();
  await first;
  await h.writesStarted(2);
  expect(h.writes[1].spans).toBe(3000);
  return h;
}

test('a lone call on an idle exporter is written at once', () => {
  const h = harness();
  void h.call(10);
  expect(h.writes.map((w) => w.spans)).toEqual([10]);
});

test('calls arriving while an insert runs are written together when it ends, not one by one', async () => {
  const h = harness({ maxSpans: 5000 });
  const first = h.call(100);
  const wave = Array.from({ length: 20 }, () => h.call(100));
  expect(h.writes.map((w) => w.spans)).toEqual([100]);
  h.writes[0].finish();
  await first;
  await h.writesStarted(2);
  expect(h.writes.map((w) => w.spans)).toEqual([100, 2000]);
  h.writes[1].finish();
  await Promise.all(wave);
});

test('after an insert, a small call waits for the rest of the wave instead of going alone', async () => {
  const h = await afterAWave();
  // 3,100 spans were held at the peak: one call of 100 is far from half of it, so it is held
  // until calls stop arriving for a moment, then written (no timer of timeout_ms = 60 s needed).
  h.writes[1].finish();
  await h.flushMicrotasks();
  const late = h.call(100);
  expect(h.writes).toHaveLength(2);
  void h.call(100);
  expect(h.writes).toHaveLength(2);
  await h.writesStarted(3);
  expect(h.writes[2].spans).toBe(200);
  h.writes[2].finish();
  await late;
});

test('a second insert runs beside the first only when a batch is full', async () => {
  const h = harness({ maxSpans: 500 });
  void h.call(100);
  for (let i = 0; i < 4; i++) void h.call(100);
  expect(h.writes.map((w) => w.spans)).toEqual([100]);
  void h.call(100);
  expect(h.writes.map((w) => w.spans)).toEqual([100, 500]);
  // Two in flight: nothing more starts, however much waits.
  for (let i = 0; i < 10; i++) void h.call(100);
  expect(h.writes).toHaveLength(2);
  h.writes[0].finish();
  h.writes[1].finish();
  await h.writesStarted(4);
  for (const w of h.writes.slice(2)) w.finish();
  await h.batcher.drain();
  expect(h.writes.reduce((n, w) => n + w.spans, 0)).toBe(1600);
});

test('a wait that ends while the event loop was busy is not taken for quiet: calls read after it still join', async () => {
  const h = await afterAWave();
  h.writes[1].finish();
  await h.flushMicrotasks();
  // One call waits for the rest of the wave; then the event loop is blocked (as by encoding a
  // batch) well past the quiet period, and the next call is only read after that.
  void h.call(100);
  const readAfterBlock = new Promise<void>((resolve) => setImmediate(() => (h.call(100), resolve())));
  const until = performance.now() + 30;
  while (performance.now() < until) {
    // busy: the quiet timer comes due meanwhile and can only fire late
  }
  await readAfterBlock;
  await h.writesStarted(3);
  expect(h.writes[2].spans).toBe(200);
  h.writes[2].finish();
});
