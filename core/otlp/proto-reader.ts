/**
 * A protobufjs reader tuned for OTLP ingest. The generated decoders call these methods by name, so
 * a subclass changes what they store without touching generated code:
 *
 * - fixed64/int64 yield a bigint straight away. The stock reader builds a Long (two allocations)
 *   and a Long -> bigint step would follow anyway; nanosecond times never pass through a number.
 * - stringVerify decodes with Node's native UTF-8 slicer. The stock one validates in a JS loop
 *   (the largest single cost on prompt-sized strings) and throws on a bad byte. Like the
 *   OpenTelemetry Collector we accept such strings; invalid bytes become U+FFFD.
 */
import * as protobuf from 'protobufjs/minimal';

interface LongLike {
  low: number;
  high: number;
}

const TWO_POW_32 = 4294967296;
// Above this |high| word a number can no longer hold high * 2^32 + low exactly.
const SAFE_HIGH = 0x200000;

/** Signed 64-bit value from its two 32-bit words, exact. */
export function longToBigInt(value: LongLike): bigint {
  const high = value.high | 0;
  const low = value.low >>> 0;
  if (high >= -SAFE_HIGH && high < SAFE_HIGH) return BigInt(high * TWO_POW_32 + low);
  return (BigInt(high) << 32n) + BigInt(low);
}

/** Unsigned 64-bit value from its two 32-bit words, exact. */
export function ulongToBigInt(value: LongLike): bigint {
  const high = value.high >>> 0;
  const low = value.low >>> 0;
  if (high < SAFE_HIGH) return BigInt(high * TWO_POW_32 + low);
  return (BigInt(high) << 32n) + BigInt(low);
}

export class OtlpReader extends protobuf.BufferReader {}

const stockInt64 = protobuf.Reader.prototype.int64;
const nativeString = protobuf.BufferReader.prototype.string;

Object.defineProperties(OtlpReader.prototype, {
  fixed64: {
    value: function fixed64(this: protobuf.Reader): bigint {
      const pos = this.pos;
      if (pos + 8 > this.len) throw new RangeError(`index out of range: ${pos} + 8 > ${this.len}`);
      this.pos = pos + 8;
      return (this.buf as Buffer).readBigUInt64LE(pos);
    },
  },
  int64: {
    value: function int64(this: protobuf.Reader): bigint {
      const value: LongLike | number = stockInt64.call(this);
      return typeof value === 'number' ? BigInt(value) : longToBigInt(value);
    },
  },
  stringVerify: { value: nativeString },
});

/** A reader over the caller's bytes without copying them. */
export function createOtlpReader(bytes: Uint8Array): OtlpReader {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new OtlpReader(buf);
}
