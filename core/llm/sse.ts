/**
 * Server-sent events, read on the side of a byte stream that is passed through unchanged.
 *
 * SseFramer cuts the raw bytes into whole events (an event ends with a blank line: "\n\n",
 * "\r\n\r\n" or "\r\r", in any mix) without decoding them, so a proxy can forward or hold back
 * exactly the bytes of one event. Events end on ASCII bytes, so a multi-byte UTF-8 character never
 * straddles two events. SseDecoder turns whole events into fields, decoding UTF-8 in streaming mode.
 * Both run in time linear in the bytes: each byte is looked at once.
 */

/** A piece of the stream: a whole event, or (when an event outgrew the bound) a raw piece of one. */
export interface SsePiece {
  bytes: Buffer;
  /** True for a whole event (ending with its blank line); false for a piece of an oversized event or a trailing remainder. */
  whole: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

export class SseFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Line ends seen in a row (a blank line is the second). */
  private lineEnds = 0;
  /** The previous byte was a CR (a following LF belongs to it). */
  private afterCr = false;
  /** An event ended on a CR: a following LF still belongs to it. */
  private endAfterCr = false;
  /** The current event outgrew maxEventBytes: its bytes are handed on as they come, unparsed. */
  private oversized = false;

  constructor(private readonly maxEventBytes = 1024 * 1024) {}

  /** The pieces that `chunk` completes, in order. */
  push(chunk: Buffer): SsePiece[] {
    const out: SsePiece[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.endAfterCr) {
        this.endAfterCr = false;
        if (b === LF) {
          this.emit(out, chunk, start, i + 1);
          start = i + 1;
          this.afterCr = false;
          continue;
        }
        this.emit(out, chunk, start, i);
        start = i;
      }
      if (b === LF) {
        if (this.afterCr) {
          this.afterCr = false;
          continue;
        }
        if (++this.lineEnds === 2) {
          this.emit(out, chunk, start, i + 1);
          start = i + 1;
        }
      } else if (b === CR) {
        this.afterCr = true;
        if (++this.lineEnds === 2) {
          // Decided by the next byte: "\r\n\r\n" ends after the LF that follows.
          if (i + 1 < chunk.length) {
            if (chunk[i + 1] === LF) i++;
            this.afterCr = false;
            this.emit(out, chunk, start, i + 1);
            start = i + 1;
          } else {
            this.endAfterCr = true;
          }
        }
      } else {
        this.afterCr = false;
        this.lineEnds = 0;
      }
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.oversized) out.push({ bytes: rest, whole: false });
      else {
        this.pending.push(rest);
        this.pendingBytes += rest.length;
        if (this.pendingBytes > this.maxEventBytes && !this.endAfterCr) {
          this.oversized = true;
          out.push({ bytes: this.takePending(), whole: false });
        }
      }
    }
    return out;
  }

  /** What is left at the end of the stream (an event without its blank line), if anything. */
  end(): SsePiece | undefined {
    this.endAfterCr = false;
    if (this.pendingBytes === 0) return undefined;
    const bytes = this.takePending();
    const whole = !this.oversized;
    this.oversized = false;
    return { bytes, whole };
  }

  private emit(out: SsePiece[], chunk: Buffer, start: number, end: number): void {
    this.lineEnds = 0;
    const tail = chunk.subarray(start, end);
    if (this.oversized) {
      this.oversized = false;
      out.push({ bytes: tail, whole: false });
      return;
    }
    if (this.pendingBytes === 0) {
      out.push({ bytes: tail, whole: true });
      return;
    }
    this.pending.push(tail);
    out.push({ bytes: this.takePending(), whole: true });
  }

  private takePending(): Buffer {
    const bytes = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return bytes;
  }
}

/** One parsed event: its `event` field (undefined when absent) and its `data` lines joined by "\n". */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Parses whole events (as SseFramer cuts them) into fields. */
export class SseDecoder {
  private readonly decoder = new TextDecoder('utf-8');

  /** The event of a whole piece, or undefined for one without data (comments, keep-alives). */
  decode(bytes: Buffer): SseEvent | undefined {
    const text = this.decoder.decode(bytes, { stream: true });
    let event: string | undefined;
    let data: string[] | undefined;
    let pos = 0;
    while (pos < text.length) {
      let end = pos;
      while (end < text.length && text.charCodeAt(end) !== LF && text.charCodeAt(end) !== CR) end++;
      const line = text.slice(pos, end);
      pos = end + (text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? 2 : 1);
      if (line === '' || line.charCodeAt(0) === 0x3a /* : comment */) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 0x20) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
      else if (field === 'event') event = value;
    }
    return data === undefined ? undefined : { event, data: data.join('\n') };
  }
}
