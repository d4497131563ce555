/**
 * In-memory topic/partition logs. Each partition is a list of stored batches with contiguous
 * offsets; appends wake up fetches that are long-polling for data.
 */
import { lastOffsetDelta, maxTimestamp, setBaseOffset } from './record-batch';

export interface StoredBatch {
  baseOffset: bigint;
  /** Offset after the batch's last record. */
  nextOffset: bigint;
  data: Buffer;
}

export class PartitionLog {
  readonly batches: StoredBatch[] = [];
  nextOffset = 0n;
  readonly logStartOffset = 0n;

  /** Appends batches as sent (baseOffset rewritten); returns the base offset of the first one. */
  append(batches: Buffer[]): bigint {
    const base = this.nextOffset;
    for (const data of batches) {
      setBaseOffset(data, this.nextOffset);
      const next = this.nextOffset + BigInt(lastOffsetDelta(data)) + 1n;
      this.batches.push({ baseOffset: this.nextOffset, nextOffset: next, data });
      this.nextOffset = next;
    }
    return base;
  }

  /** Index of the batch containing `offset`, or batches.length when offset is at/after the end. */
  private indexOf(offset: bigint): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.batches[mid].nextOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Whole batches from the one containing `fetchOffset`, within `maxBytes`; when `atLeastOne`,
   * the first batch is returned even if it alone exceeds the limit (Kafka's KIP-74 rule, so an
   * oversized batch can never stall a consumer).
   */
  read(fetchOffset: bigint, maxBytes: number, atLeastOne: boolean): Buffer[] {
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexOf(fetchOffset); i < this.batches.length; i++) {
      const size = this.batches[i].data.length;
      if (bytes + size > maxBytes && !(atLeastOne && out.length === 0)) break;
      out.push(this.batches[i].data);
      bytes += size;
    }
    return out;
  }

  /** First offset of the first batch whose max timestamp is >= ts (batch granularity), or -1. */
  offsetForTimestamp(ts: bigint): bigint {
    const batch = this.batches.find((b) => maxTimestamp(b.data) >= ts);
    return batch ? batch.baseOffset : -1n;
  }
}

export class LogStore {
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly waiters = new Set<() => void>();

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  partitions(topic: string): PartitionLog[] | undefined {
    return this.topics.get(topic);
  }

  partition(topic: string, index: number): PartitionLog | undefined {
    return this.topics.get(topic)?.[index];
  }

  create(topic: string, partitions: number): PartitionLog[] {
    const logs = Array.from({ length: partitions }, () => new PartitionLog());
    this.topics.set(topic, logs);
    return logs;
  }

  append(log: PartitionLog, batches: Buffer[]): bigint {
    const base = log.append(batches);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
    return base;
  }

  /** Resolves at the next append anywhere, or after `ms`; callers re-check their partitions. */
  waitForAppend(ms: number): { promise: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const timer = setTimeout(() => finish(), ms);
    const finish = (): void => {
      clearTimeout(timer);
      this.waiters.delete(finish);
      wake();
    };
    this.waiters.add(finish);
    return { promise, cancel: finish };
  }
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}
