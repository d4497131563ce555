/**
 * A growing byte buffer with the primitive encodings of ClickHouse's Native format: LEB128 lengths,
 * little-endian fixed-width numbers, and strings as a length followed by their UTF-8 bytes.
 */
export class NativeWriter {
  private buf: Buffer;
  private pos = 0;
  /** Where each stream ended (see mark). */
  private readonly ends: number[] = [];

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, initialBytes));
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Empties the writer for reuse, keeping its buffer. */
  reset(): void {
    this.pos = 0;
    this.ends.length = 0;
  }

  /** Bytes the writer can hold before it grows. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Ends a stream here: a column is one or more streams (a Map is its offsets, keys and values). */
  mark(): void {
    this.ends.push(this.pos);
  }

  /** The end of every marked stream, in order. */
  streamEnds(): Int32Array {
    return Int32Array.from(this.ends);
  }

  private ensure(more: number): void {
    if (this.pos + more <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + more));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  varUInt(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  uint32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value, this.pos);
    this.pos += 4;
  }

  /** A UInt64 that fits a JS number exactly (array offsets, counts). */
  uint64Number(value: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  uint64(value: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(value, this.pos);
    this.pos += 8;
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(value, this.pos);
    this.pos += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /**
   * Array offsets copied from another block's stream (`source` from `start` to `end`), each raised
   * by `base`: offsets are cumulative, so a stream appended after others starts where they ended.
   * Returns the last offset written (the next stream's base).
   */
  offsetsFrom(source: Buffer, start: number, end: number, base: number): number {
    this.ensure(end - start);
    let last = base;
    for (let at = start; at < end; at += 8) {
      last = base + source.readUInt32LE(at) + source.readUInt32LE(at + 4) * 0x1_0000_0000;
      this.uint64Number(last);
    }
    return last;
  }

  /** Raw bytes already in Native form (a cached column section). */
  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  /**
   * A String value. Lone UTF-16 surrogates become U+FFFD, as Buffer's UTF-8 encoder writes them.
   * Short ASCII strings (most ids, keys and names) are copied byte by byte, which is cheaper than a
   * call into the encoder.
   */
  string(value: string): void {
    const length = value.length;
    if (length < 128) {
      this.ensure(1 + length * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buf[start + i] = code;
      }
      if (i < length) {
        const written = buf.write(value, start, 'utf8');
        if (written >= 0x80) return this.longString(value);
        i = written;
      }
      buf[this.pos] = i;
      this.pos = start + i;
      return;
    }
    this.longString(value);
  }

  private longString(value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varUInt(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }
}
