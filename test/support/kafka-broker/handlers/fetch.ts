/**
 * Fetch (1) v7-11 without fetch sessions (session id 0 = a full fetch every time, which is what
 * kafkajs sends). Returns whole stored batches starting with the one containing fetch_offset; when
 * nothing is available it long-polls up to max_wait_ms and answers as soon as data arrives.
 */
import { Writer } from '../codec';
import type { ApiHandler, RequestContext } from '../context';
import { ErrorCode } from '../errors';

interface PartitionRequest {
  index: number;
  fetchOffset: bigint;
  maxBytes: number;
}

interface TopicRequest {
  name: string;
  partitions: PartitionRequest[];
}

interface PartitionAnswer {
  index: number;
  errorCode: number;
  highWatermark: bigint;
  batches: Buffer[];
}

function collect(ctx: RequestContext, topics: TopicRequest[], maxBytes: number): { answers: PartitionAnswer[][]; bytes: number; errors: boolean } {
  let bytes = 0;
  let errors = false;
  const answers = topics.map((t) =>
    t.partitions.map((p): PartitionAnswer => {
      const log = ctx.broker.store.partition(t.name, p.index);
      if (!log) {
        errors = true;
        return { index: p.index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, batches: [] };
      }
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.nextOffset) {
        errors = true;
        return { index: p.index, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: log.nextOffset, batches: [] };
      }
      const limit = Math.max(0, Math.min(p.maxBytes, maxBytes - bytes));
      const batches = log.read(p.fetchOffset, limit, bytes === 0);
      for (const b of batches) bytes += b.length;
      return { index: p.index, errorCode: ErrorCode.NONE, highWatermark: log.nextOffset, batches };
    }),
  );
  return { answers, bytes, errors };
}

function abortable(signal: AbortSignal, wait: { promise: Promise<void>; cancel(): void }): Promise<void> {
  if (signal.aborted) {
    wait.cancel();
    return Promise.resolve();
  }
  const onAbort = (): void => wait.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return wait.promise.finally(() => signal.removeEventListener('abort', onAbort));
}

export const fetchHandler: ApiHandler = {
  apiKey: 1,
  name: 'Fetch',
  minVersion: 7,
  maxVersion: 11,
  async handle(request, ctx) {
    const v = ctx.apiVersion;
    request.int32(); // replica_id
    const maxWaitMs = request.int32();
    const minBytes = request.int32();
    const maxBytes = request.int32();
    request.int8(); // isolation_level
    request.int32(); // session_id
    request.int32(); // session_epoch
    const topics: TopicRequest[] = request.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const index = r.int32();
        if (v >= 9) r.int32(); // current_leader_epoch
        const fetchOffset = r.int64();
        r.int64(); // log_start_offset (followers only)
        return { index, fetchOffset, maxBytes: r.int32() };
      }),
    }));
    request.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) })); // forgotten topics: no sessions
    if (v >= 11) request.string(); // rack_id

    const deadline = Date.now() + Math.max(0, maxWaitMs);
    let result = collect(ctx, topics, maxBytes);
    while (result.bytes < Math.max(1, minBytes) && !result.errors && !ctx.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await abortable(ctx.signal, ctx.broker.store.waitForAppend(left));
      result = collect(ctx, topics, maxBytes);
    }

    const w = new Writer().int32(0).int16(ErrorCode.NONE).int32(0); // throttle, error, session_id
    const answered = topics.map((t, i) => ({ name: t.name, partitions: result.answers[i] }));
    w.array(answered, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).int64(p.highWatermark);
        w.int64(p.highWatermark); // last_stable_offset: no transactions
        w.int64(0n); // log_start_offset
        w.array([], () => undefined); // aborted_transactions
        if (v >= 11) w.int32(-1); // preferred_read_replica
        const size = p.batches.reduce((n, b) => n + b.length, 0);
        w.int32(size);
        for (const b of p.batches) w.raw(b);
      });
    });
    return w;
  },
};
