import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as anthropic from './anthropic';
import { Exchange } from './exchange';
import * as openai from './openai';
import { FakeBehaviour, FakeRequest, resolveBehaviour } from './types';

export type { FakeBehaviour, FakeRequest } from './types';
export { DEFAULT_CHUNKS, FIXED_CREATED } from './types';

/**
 * A fake LLM provider for tests: a real HTTP server on 127.0.0.1 that answers the OpenAI API
 * (chat completions, responses, completions, embeddings, models) and the Anthropic Messages API in
 * their own JSON, SSE and error formats, with knobs for latency, streaming pace, failures and broken
 * connections, and a record of every request (including when the client gave up on it).
 *
 * Each request takes the next queued behaviour (enqueue), merged over the default (start/setDefault):
 * fields of the queued behaviour win. Every request takes one, whatever its route, in arrival order.
 * Requests to POST /v1/messages, or carrying an `anthropic-version` header, are answered as Anthropic;
 * all others as OpenAI.
 */
export class FakeLlmProvider {
  readonly url: string;
  readonly requests: FakeRequest[] = [];
  private queue: FakeBehaviour[] = [];
  private defaults: FakeBehaviour;
  private seq = 0;
  private closing = false;

  private constructor(
    private readonly server: http.Server,
    private readonly initialDefaults: FakeBehaviour,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.defaults = { ...initialDefaults };
    server.on('request', (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake LLM provider failed: ${String(err)}`);
        }
      });
    });
  }

  static async start(defaults: FakeBehaviour = {}): Promise<FakeLlmProvider> {
    const server = http.createServer({ keepAliveTimeout: 5_000 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeLlmProvider(server, { ...defaults });
  }

  /** Behaviours for the next requests, in order (after those already queued). */
  enqueue(...behaviours: FakeBehaviour[]): void {
    this.queue.push(...behaviours);
  }

  /** Replaces the default behaviour (what a request gets beneath its queued one). */
  setDefault(behaviour: FakeBehaviour): void {
    this.defaults = { ...behaviour };
  }

  /** Empties the queue and the records (in place), restarts the ids at 1 and restores start()'s default. */
  reset(): void {
    this.queue = [];
    this.requests.length = 0;
    this.seq = 0;
    this.defaults = { ...this.initialDefaults };
  }

  /** Closes every connection (stalled streams included; not recorded as client aborts) and the server. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const seq = ++this.seq;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const record: FakeRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      raw: '',
      body: undefined,
      startedAt: Date.now(),
      chunksSent: 0,
      seq,
    };
    this.requests.push(record);
    const behaviour = resolveBehaviour({ ...this.defaults, ...(this.queue.shift() ?? {}) });
    const ex = new Exchange(req, res, record, behaviour, () => this.closing);

    try {
      record.raw = await ex.readBody();
    } catch {
      return;
    }
    if (record.raw) {
      try {
        record.body = JSON.parse(record.raw);
      } catch {
        record.body = undefined;
      }
    }

    let pathname = new URL(record.path, 'http://fake').pathname.replace(/\/+$/, '');
    const prefix = behaviour.pathPrefix?.replace(/\/+$/, '');
    if (prefix && pathname.startsWith(`${prefix}/`)) pathname = pathname.slice(prefix.length);
    const isAnthropic = pathname === '/v1/messages' || headers['anthropic-version'] !== undefined;

    if (!(await ex.wait(behaviour.latencyMs))) return;
    if (behaviour.dropBeforeHeaders) return ex.drop();
    if (behaviour.status >= 400) {
      return isAnthropic ? anthropic.sendAnthropicError(ex, behaviour.status) : openai.sendOpenaiError(ex, behaviour.status);
    }
    if (record.method === 'POST' && (record.body === null || typeof record.body !== 'object' || Array.isArray(record.body))) {
      const message = record.raw ? 'We could not parse the JSON body of your request.' : 'The request body is empty; a JSON object was expected.';
      return isAnthropic ? anthropic.sendAnthropicError(ex, 400, message) : openai.sendOpenaiError(ex, 400, { message });
    }

    const route = `${record.method} ${pathname}`;
    switch (route) {
      case 'POST /v1/chat/completions':
        return openai.chatCompletions(ex);
      case 'POST /v1/responses':
        return openai.responses(ex);
      case 'POST /v1/completions':
        return openai.completions(ex);
      case 'POST /v1/embeddings':
        return openai.embeddings(ex);
      case 'POST /v1/messages':
        return anthropic.messages(ex);
      case 'GET /v1/models':
        return isAnthropic ? anthropic.listModels(ex) : openai.listModels(ex);
    }
    if (record.method === 'GET' && pathname.startsWith('/v1/models/') && !isAnthropic) {
      return openai.retrieveModel(ex, decodeURIComponent(pathname.slice('/v1/models/'.length)));
    }
    if (isAnthropic) return anthropic.sendAnthropicError(ex, 404, `Not found: ${route}`);
    return openai.sendOpenaiError(ex, 404, { message: `Invalid URL (${route})`, code: null });
  }
}
