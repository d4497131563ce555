/**
 * OTLP request templates for the load generator. A template is encoded once with placeholders,
 * and each request is a copy whose trace ids, span ids and 12-digit text stamps (inside every
 * prompt and completion) are overwritten with values of the request number, so every request
 * carries new spans and new text while costing the generator only a copy and a few hundred writes.
 */
import { encodeTraceRequestProto } from '../core/otlp/encode';
import type { Span } from '../core/span';

/** The value a placeholder takes in request n (a non-negative integer below 2^32 for ids). */
export type Value = (n: number) => number;

export const STAMP_DIGITS = 12;

/** A placeholder and every place it sits in the encoded body, which each request overwrites. */
interface Slot {
  offsets: number[];
  kind: 'trace' | 'span' | 'stamp';
  value: Value;
}

export interface RequestTemplate {
  body: Buffer;
  /** Where every id starts in `body` (two-tier.ts stamps these itself). */
  idOffsets: number[];
  /** The body of request n. */
  render(n: number): Buffer;
}

/** murmur3's finalizer: spreads an id's value over its leading bytes, so ids look random. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hands out placeholders while a template's spans are built: the same key gives the same id (a
 * parent id equals its parent's span id). `salt` keeps templates of different shapes from
 * producing the same ids for the same values.
 */
export class Placeholders {
  readonly slots = new Map<string, { kind: Slot['kind']; value: Value }>();
  private readonly keys = new Map<string, string>();

  constructor(readonly salt: number) {}

  traceId(key: string | number, value: Value): string {
    return this.placeholder(`t${key}`, 'trace', value, (c) => `f0e1d2c3b4a59687${c}8796a5b4`);
  }

  spanId(key: string | number, value: Value): string {
    return this.placeholder(`s${key}`, 'span', value, (c) => `c7d8e9fa${c}`);
  }

  /** Twelve digits to put in a text; request n writes value(n) there, zero-padded. */
  stamp(value: Value): string {
    return this.placeholder(`x${this.slots.size}`, 'stamp', value, (c) => `9${String(parseInt(c, 16)).padStart(STAMP_DIGITS - 1, '0')}`);
  }

  private placeholder(key: string, kind: Slot['kind'], value: Value, format: (counter: string) => string): string {
    const known = this.keys.get(key);
    if (known !== undefined) return known;
    const text = format(this.keys.size.toString(16).padStart(8, '0'));
    this.keys.set(key, text);
    this.slots.set(text, { kind, value });
    return text;
  }
}

/** Encodes spans built with `ids` and finds every placeholder in the bytes. */
export function compileTemplate(spans: Span[], ids: Placeholders): RequestTemplate {
  const body = Buffer.from(encodeTraceRequestProto(spans));
  const slots: Slot[] = [];
  for (const [text, { kind, value }] of ids.slots) {
    const bytes = kind === 'stamp' ? Buffer.from(text, 'latin1') : Buffer.from(text, 'hex');
    const offsets: number[] = [];
    for (let at = body.indexOf(bytes); at !== -1; at = body.indexOf(bytes, at + bytes.length)) offsets.push(at);
    // A stamp sits in one text; an id at least once (a span id also in its children's parent ids).
    if (offsets.length === 0 || (kind === 'stamp' && offsets.length !== 1)) throw new Error(`bench template: placeholder ${text} found ${offsets.length} times`);
    slots.push({ offsets, kind, value });
  }
  const salt = ids.salt;
  return {
    body,
    idOffsets: slots.filter((s) => s.kind !== 'stamp').flatMap((s) => s.offsets),
    render(n: number): Buffer {
      const out = Buffer.allocUnsafe(body.length);
      body.copy(out);
      for (const { offsets, kind, value } of slots) {
        const offset = offsets[0];
        const v = value(n);
        if (kind === 'stamp') {
          let x = v;
          for (let d = offset + STAMP_DIGITS - 1; d >= offset; d--, x = Math.floor(x / 10)) out[d] = 48 + (x % 10);
        } else if (kind === 'span') {
          out.writeUInt32BE(mix32(v ^ salt), offset);
          out.writeUInt32BE(v >>> 0, offset + 4);
        } else {
          out.writeUInt32BE(mix32(v ^ salt), offset);
          out.writeUInt32BE(mix32(v + salt + 1), offset + 4);
          out.writeUInt32BE(mix32(v ^ (salt + 2)), offset + 8);
          out.writeUInt32BE(v >>> 0, offset + 12);
        }
        const length = kind === 'stamp' ? STAMP_DIGITS : kind === 'span' ? 8 : 16;
        for (let i = 1; i < offsets.length; i++) out.copyWithin(offsets[i], offset, offset + length);
      }
      return out;
    },
  };
}
