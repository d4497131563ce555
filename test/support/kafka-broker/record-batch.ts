/**
 * Magic-v2 record batches as the broker sees them. Batches are stored exactly as the producer sent
 * them (compressed or not); the only byte the broker changes is the 8-byte baseOffset at the front,
 * which the batch CRC deliberately does not cover. Decoding the records is only needed by the
 * topicMessages() test hook.
 */
import zlib from 'node:zlib';

// Byte positions in the v2 batch header (Kafka's DefaultRecordBatch).
const BATCH_LENGTH_AT = 8; // int32: bytes after this field
const MAGIC_AT = 16;
const ATTRIBUTES_AT = 21;
const LAST_OFFSET_DELTA_AT = 23;
const MAX_TIMESTAMP_AT = 35;
const RECORD_COUNT_AT = 57;
export const BATCH_HEADER_SIZE = 61;
/** baseOffset (8) + batchLength (4): the part of a batch not counted in batchLength. */
const LOG_OVERHEAD = 12;

export class BatchFormatError extends Error {
  constructor(message: string, readonly unsupportedFormat = false) {
    super(message);
  }
}

/** Splits a produce request's record set into batches (usually one), copying each out of the request. */
export function splitBatches(records: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < LOG_OVERHEAD + 5) throw new BatchFormatError('truncated record batch header');
    const magic = records.readInt8(at + MAGIC_AT);
    if (magic !== 2) throw new BatchFormatError(`message format magic ${magic} is not supported (only v2 batches)`, true);
    const size = LOG_OVERHEAD + records.readInt32BE(at + BATCH_LENGTH_AT);
    if (size < BATCH_HEADER_SIZE || at + size > records.length) throw new BatchFormatError('record batch length out of range');
    // Copy: the request buffer would otherwise stay alive for as long as the log does.
    batches.push(Buffer.from(records.subarray(at, at + size)));
    at += size;
  }
  return batches;
}

export function lastOffsetDelta(batch: Buffer): number {
  return batch.readInt32BE(LAST_OFFSET_DELTA_AT);
}

export function maxTimestamp(batch: Buffer): bigint {
  return batch.readBigInt64BE(MAX_TIMESTAMP_AT);
}

export function setBaseOffset(batch: Buffer, baseOffset: bigint): void {
  batch.writeBigInt64BE(baseOffset, 0);
}

export interface DecodedRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

class VarReader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  /** Zig-zag varlong as used by record fields. */
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.at >= this.buf.length) throw new BatchFormatError('truncated varint');
      const byte = this.buf[this.at++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    return (result >> 1n) ^ -(result & 1n);
  }

  varint(): number {
    return Number(this.varlong());
  }

  nullableBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    if (this.at + length > this.buf.length) throw new BatchFormatError('truncated record field');
    const out = Buffer.from(this.buf.subarray(this.at, this.at + length));
    this.at += length;
    return out;
  }
}

function recordsPayload(batch: Buffer): Buffer {
  const body = batch.subarray(BATCH_HEADER_SIZE);
  const codec = batch.readInt16BE(ATTRIBUTES_AT) & 0x07;
  switch (codec) {
    case 0:
      return body;
    case 1:
      return zlib.gunzipSync(body);
    default:
      // kafkajs ships only gzip; snappy/lz4/zstd need codecs this test broker does not carry.
      throw new BatchFormatError(`compression codec ${codec} is not decodable by the test broker`);
  }
}

export function decodeBatch(batch: Buffer): DecodedRecord[] {
  const baseOffset = batch.readBigInt64BE(0);
  const firstTimestamp = batch.readBigInt64BE(27);
  const count = batch.readInt32BE(RECORD_COUNT_AT);
  const r = new VarReader(recordsPayload(batch));
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    const end = r.at + length;
    r.at += 1; // record attributes: unused
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = r.nullableBytes();
    const value = r.nullableBytes();
    const headers: Record<string, Buffer> = {};
    const headerCount = r.varint();
    for (let h = 0; h < headerCount; h++) {
      const name = r.nullableBytes()?.toString('utf8') ?? '';
      headers[name] = r.nullableBytes() ?? Buffer.alloc(0);
    }
    r.at = end;
    out.push({ offset: baseOffset + BigInt(offsetDelta), timestamp: firstTimestamp + timestampDelta, key, value, headers });
  }
  return out;
}
