/**
 * Kafka wire-protocol primitives for the test broker: a reader over one request body and a
 * writer that builds a response body. Only the non-flexible ("classic") encodings are here —
 * the broker advertises no tagged-field versions, so compact strings/arrays never appear.
 */

/** Thrown when a request is shorter or stranger than its schema says; the connection is closed. */
export class MalformedRequestError extends Error {}

export class Reader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number): number {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new MalformedRequestError(`request truncated: need ${n} bytes at ${this.offset} of ${this.buf.length}`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1));
  }

  int16(): number {
    return this.buf.readInt16BE(this.take(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.take(4));
  }

  int64(): bigint {
    return this.buf.readBigInt64BE(this.take(8));
  }

  boolean(): boolean {
    return this.int8() !== 0;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.take(length);
    return this.buf.toString('utf8', at, at + length);
  }

  string(): string {
    return this.nullableString() ?? '';
  }

  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const at = this.take(length);
    return this.buf.subarray(at, at + length);
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  /** A classic array: int32 count, -1 meaning null. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    // Each element is at least one byte; a huge count in a small body is garbage, not a loop bound.
    if (count > this.remaining) throw new MalformedRequestError(`array count ${count} exceeds request size`);
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(item(this));
    return out;
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }
}

export class Writer {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  private push(chunk: Buffer): this {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this;
  }

  private fixed(n: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(n);
    write(b);
    return this.push(b);
  }

  int8(v: number): this {
    return this.fixed(1, (b) => b.writeInt8(v));
  }

  int16(v: number): this {
    return this.fixed(2, (b) => b.writeInt16BE(v));
  }

  int32(v: number): this {
    return this.fixed(4, (b) => b.writeInt32BE(v));
  }

  int64(v: bigint): this {
    return this.fixed(8, (b) => b.writeBigInt64BE(v));
  }

  boolean(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const bytes = Buffer.from(v, 'utf8');
    return this.int16(bytes.length).push(bytes);
  }

  bytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).push(v);
  }

  /** Raw bytes with no length prefix (already-framed record batches). */
  raw(v: Buffer): this {
    return this.push(v);
  }

  array<T>(items: readonly T[] | null, item: (w: Writer, value: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const value of items) item(this, value);
    return this;
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}
