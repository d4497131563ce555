import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeRequest, Resolved } from './types';

/** One step of a streamed answer: already framed SSE text. */
export interface Step {
  /**
   * pre: sent right after the headers (message_start, the role chunk...). delta: a content delta, counted
   * by the *AfterChunks knobs and spaced by chunkGapMs. mid: other events once content has begun (a tool
   * call's start, content_block_stop...). post: the end (finish chunk, usage, [DONE], message_stop...).
   */
  kind: 'pre' | 'delta' | 'mid' | 'post';
  data: string;
}

/**
 * One request and its answer: the timing knobs, the socket knobs, and the bookkeeping of what the
 * client saw (finishedAt) or did (abortedAt). Every wait ends early when the socket closes, so nothing
 * is written to a connection the client has gone from.
 */
export class Exchange {
  private closed = false;
  private readonly wakers = new Set<() => void>();
  /** SSE events and other writes so far (the Responses API numbers its events with this). */
  eventsWritten = 0;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly record: FakeRequest,
    readonly b: Resolved,
    shuttingDown: () => boolean,
  ) {
    // No Date header: the same request gets the same bytes.
    res.sendDate = false;
    res.on('finish', () => {
      record.finishedAt = Date.now();
    });
    res.on('close', () => {
      this.closed = true;
      if (record.finishedAt === undefined && record.droppedAt === undefined && !shuttingDown()) {
        record.abortedAt = Date.now();
      }
      for (const wake of [...this.wakers]) wake();
      this.wakers.clear();
    });
  }

  get alive(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  readBody(): Promise<string> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let settled = false;
      const fail = () => {
        if (!settled) {
          settled = true;
          reject(new Error('client went away before the request body ended'));
        }
      };
      this.req.on('data', (chunk: Buffer) => parts.push(chunk));
      this.req.on('end', () => {
        if (!settled) {
          settled = true;
          resolve(Buffer.concat(parts).toString('utf8'));
        }
      });
      this.req.on('error', fail);
      this.wakers.add(fail);
    });
  }

  /** Resolves true after `ms`, or false as soon as the socket closes. */
  wait(ms: number): Promise<boolean> {
    if (!this.alive) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.wakers.delete(wake);
        resolve(this.alive);
      }, ms);
      this.wakers.add(wake);
    });
  }

  /** Sends nothing more and keeps the socket open until the client (or close()) ends it. */
  stall(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => this.wakers.add(resolve));
  }

  /** Destroys the socket on purpose (recorded as droppedAt, not as a client abort). */
  drop(): void {
    if (!this.alive) return;
    this.record.droppedAt = Date.now();
    (this.res.socket ?? this.req.socket).destroy();
  }

  /** Status line and headers, flushed at once (a stream's headers are out before its first event). */
  head(status: number, headers: Record<string, string>): void {
    if (!this.alive || this.res.headersSent) return;
    this.record.status = status;
    this.res.writeHead(status, { ...headers, ...this.b.headers });
    this.res.flushHeaders();
  }

  /** Resolves once the data has been handed to the socket (or the socket is gone). */
  write(data: string): Promise<void> {
    if (!this.alive) return Promise.resolve();
    this.eventsWritten += 1;
    return new Promise((resolve) => {
      const done = () => {
        this.wakers.delete(done);
        resolve();
      };
      this.wakers.add(done);
      this.res.write(data, done);
    });
  }

  end(): void {
    if (this.alive) this.res.end();
  }

  /** A complete JSON answer at once (errors, and success without the stall/drop knobs). */
  sendJson(status: number, headers: Record<string, string>, body: unknown): void {
    if (!this.alive) return;
    const text = JSON.stringify(body);
    this.head(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    });
    this.res.end(text);
  }

  /** A successful non-streamed answer: waits ttftMs (the generation), honours stall/drop after the headers. */
  async answerJson(headers: Record<string, string>, body: unknown): Promise<void> {
    if (!(await this.wait(this.b.ttftMs))) return;
    if (this.b.stallAfterChunks !== undefined || this.b.dropAfterChunks !== undefined) {
      this.head(this.b.status, { ...headers, 'content-type': 'application/json' });
      if (this.b.stallAfterChunks !== undefined) return this.stall();
      return this.drop();
    }
    this.sendJson(this.b.status, headers, body);
  }

  /**
   * A streamed answer: headers, the pre steps at once, ttftMs, then the content with chunkGapMs between
   * deltas. After N deltas the stall/drop/error knobs cut in (chunkGapMs after the Nth delta, when the
   * next one was due), before any further step: N = the number of deltas stops right before the end
   * events. Each write is awaited until the socket has taken it, so what was sent before a drop is on the
   * wire. `errorEvent` frames the protocol's error event.
   */
  async stream(headers: Record<string, string>, steps: Step[], errorEvent: (eventsWritten: number) => string): Promise<void> {
    const b = this.b;
    this.head(b.status, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    let begun = false;
    let deltas = 0;
    for (const [i, step] of steps.entries()) {
      if (!this.alive) return;
      if (b.dropBeforeLastEvent && i === steps.length - 1) return this.drop();
      if (step.kind !== 'pre') {
        if (!begun) {
          begun = true;
          if (!(await this.wait(b.ttftMs))) return;
        }
        const cut =
          (b.stallAfterChunks !== undefined && deltas >= b.stallAfterChunks) ||
          (b.dropAfterChunks !== undefined && deltas >= b.dropAfterChunks) ||
          (b.errorEventAfterChunks !== undefined && deltas >= b.errorEventAfterChunks);
        // The gap before the next delta, and before a cut (it happens when the next delta was due).
        if ((step.kind === 'delta' || cut) && deltas > 0 && !(await this.wait(b.chunkGapMs))) return;
        if (b.stallAfterChunks !== undefined && deltas >= b.stallAfterChunks) return this.stall();
        if (b.dropAfterChunks !== undefined && deltas >= b.dropAfterChunks) return this.drop();
        if (b.errorEventAfterChunks !== undefined && deltas >= b.errorEventAfterChunks) {
          await this.write(errorEvent(this.eventsWritten));
          return this.end();
        }
      }
      await this.write(step.data);
      if (step.kind === 'delta') {
        deltas += 1;
        this.record.chunksSent = deltas;
      }
    }
    this.end();
  }
}

/** `data: {...}\n\n` (OpenAI chat and completions). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** `event: type\ndata: {...}\n\n` (OpenAI Responses, Anthropic). */
export function sseEvent(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}
