/**
 * The LLM judge: asks a provider's chat API whether an output meets some criteria and reads back
 * a strict JSON verdict. Calls go through the gateway's UpstreamClient (one pool per base URL),
 * at most `maxConcurrency` at once with at most `maxQueue` waiting (beyond: an error at once),
 * each bounded by `timeoutMs` from the moment it is asked (queueing, retries and backoff
 * included). 429, 5xx and connection failures are retried with backoff, honouring the provider's
 * Retry-After when it fits in the time left. The cost is usage × the price catalog.
 *
 * API keys go into request headers only: never into results, reasons or logs.
 */
import { builtInCatalog, costUsd, PriceBook } from '../pricing/pricing';
import { CallSlots, CallSlotsFullError } from './call-slots';
import { backoffMs, retryAfterMs } from './failover';
import { judgeAnswer, judgeRequest } from './judge-protocol';
import type { JudgeProvider, JudgeQuestion, JudgeVerdict } from './judge-protocol';
import { AnswerTooLargeError, postJson } from './json-call';
import { errorOf } from './protocol';
import type { LlmUsage } from './protocol';
import { UpstreamCallError, UpstreamClient } from './upstream-client';

export interface JudgeOptions {
  timeoutMs: number;
  maxConcurrency: number;
  maxQueue: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Answers larger than this are refused (default 1 MiB). */
  maxAnswerBytes?: number;
}

export interface JudgeCall {
  provider: JudgeProvider;
  model: string;
  apiKey: string;
  baseUrl: string;
  question: JudgeQuestion;
  /** Aborts the call (the pipeline gave up, the daemon stops). */
  signal?: AbortSignal;
}

export type JudgeResult =
  | { outcome: 'verdict'; verdict: JudgeVerdict; model: string; attempts: number; costUsd?: number }
  | { outcome: 'error'; reason: string; attempts: number; costUsd?: number };

const MAX_PROVIDER_MESSAGE_CHARS = 200;

export class JudgeClient {
  private readonly slots: CallSlots;
  private readonly clients = new Map<string, UpstreamClient>();
  private prices: PriceBook | undefined;
  private closed = false;

  constructor(private readonly options: JudgeOptions) {
    this.slots = new CallSlots(options.maxConcurrency, options.maxQueue);
  }

  /** Calls waiting for a slot (a gauge for telemetry and tests). */
  get queued(): number {
    return this.slots.queued;
  }

  /** Never rejects: failures are a result with a reason. */
  async judge(call: JudgeCall): Promise<JudgeResult> {
    if (this.closed) return { outcome: 'error', reason: 'the judge is shut down', attempts: 0 };
    const { timeoutMs } = this.options;
    const deadlineAt = Date.now() + timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('judge timeout')), timeoutMs);
    timer.unref?.();
    const signal = call.signal ? AbortSignal.any([deadline.signal, call.signal]) : deadline.signal;
    const stopped = () => (deadline.signal.aborted ? `timed out after ${timeoutMs} ms` : 'abandoned: the caller gave up');
    try {
      let release: () => void;
      try {
        release = await this.slots.acquire(signal);
      } catch (err) {
        const reason = err instanceof CallSlotsFullError ? `too many judge calls: ${err.maxWaiting} already waiting` : `${stopped()} waiting for a free judge slot`;
        return { outcome: 'error', reason, attempts: 0 };
      }
      try {
        return await this.attempt(call, signal, deadlineAt, stopped);
      } finally {
        release();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempt(call: JudgeCall, signal: AbortSignal, deadlineAt: number, stopped: () => string): Promise<JudgeResult> {
    const { maxRetries, retryInitialMs = 250, retryMaxMs = 4_000, maxAnswerBytes = 1024 * 1024 } = this.options;
    const request = judgeRequest(call.provider, call.model, call.apiKey, call.question);
    const client = this.clientFor(call.baseUrl);
    const scrub = (text: string) => scrubKey(text, call.apiKey);
    for (let attempts = 1; ; attempts++) {
      const retriesLeft = attempts <= maxRetries;
      let problem: string;
      let wait: number | undefined;
      try {
        const answer = await postJson(client, { ...request, signal, maxBytes: maxAnswerBytes });
        if (answer.status >= 200 && answer.status < 300) return this.read(call, answer.body, attempts);
        const error = errorOf(answer.body);
        const said = error ? `: ${scrub(error.message).slice(0, MAX_PROVIDER_MESSAGE_CHARS)}` : '';
        problem = `${call.provider} answered ${answer.status}${said}`;
        if (!retryableStatus(answer.status) || !retriesLeft) return failed(problem, attempts);
        wait = retryAfterMs(answer.headers);
        if (wait !== undefined && Date.now() + wait >= deadlineAt) return failed(`${problem}; its Retry-After (${wait} ms) is beyond the judge timeout`, attempts);
      } catch (err) {
        if (signal.aborted) return failed(stopped(), attempts);
        if (err instanceof AnswerTooLargeError) return failed(`${call.provider}'s answer is too large (${err.message})`, attempts);
        const kind = err instanceof UpstreamCallError ? err.kind : 'network';
        if (kind === 'headers_timeout' || kind === 'total_timeout') return failed(`timed out after ${this.options.timeoutMs} ms`, attempts);
        problem = `cannot reach ${call.provider}: ${scrub((err as Error).message ?? String(err))}`;
        if ((kind !== 'connect' && kind !== 'network') || !retriesLeft) return failed(problem, attempts);
      }
      const delay = wait ?? backoffMs(attempts, retryInitialMs, retryMaxMs);
      if (!(await sleep(Math.min(delay, Math.max(0, deadlineAt - Date.now())), signal))) return failed(`${stopped()} (${problem})`, attempts);
    }
  }

  private read(call: JudgeCall, body: unknown, attempts: number): JudgeResult {
    const answer = judgeAnswer(call.provider, body);
    const model = answer.model ?? call.model;
    const cost = this.costOf(call.provider, model, answer.usage);
    const costPart = cost === undefined ? {} : { costUsd: cost };
    if (!answer.verdict) return { outcome: 'error', reason: answer.problem ?? 'no verdict', attempts, ...costPart };
    return { outcome: 'verdict', verdict: answer.verdict, model, attempts, ...costPart };
  }

  private costOf(provider: JudgeProvider, model: string, usage: LlmUsage | undefined): number | undefined {
    if (!usage) return undefined;
    this.prices ??= new PriceBook(builtInCatalog().entries, []);
    const match = this.prices.lookup(model, provider === 'openrouter' ? {} : { provider });
    if (!match) return undefined;
    return costUsd(match.price, { input: BigInt(usage.input ?? 0), output: BigInt(usage.output ?? 0), cacheRead: BigInt(usage.cacheRead ?? 0) });
  }

  private clientFor(baseUrl: string): UpstreamClient {
    let client = this.clients.get(baseUrl);
    if (!client) {
      const { timeoutMs, maxConcurrency } = this.options;
      client = new UpstreamClient(
        baseUrl,
        { connectMs: Math.min(timeoutMs, 10_000), responseHeadersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
        { connections: maxConcurrency, keepAliveMs: 30_000 },
      );
      this.clients.set(baseUrl, client);
    }
    return client;
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

function failed(reason: string, attempts: number): JudgeResult {
  return { outcome: 'error', reason: attempts > 1 ? `${reason} (after ${attempts} attempts)` : reason, attempts };
}

function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** A provider's message may echo the key it was given; it never leaves this module. */
function scrubKey(text: string, key: string): string {
  return key.length >= 4 ? text.split(key).join('[api key]') : text;
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
