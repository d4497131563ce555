/**
 * One non-streamed JSON call to a provider through an UpstreamClient (its pool and timeouts): the
 * request body as JSON, the answer read whole up to `maxBytes` and parsed. For callers that need
 * the answer rather than passing it through (LLM-judge rules).
 */
import type { UpstreamClient } from './upstream-client';
import { UpstreamCallError } from './upstream-client';

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  /** The parsed body, or undefined when it is empty or not JSON. */
  body: unknown;
}

export class AnswerTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer exceeds ${maxBytes} bytes`);
  }
}

/**
 * POSTs `body` as JSON to `path` and reads the answer; rejects with an UpstreamCallError when no
 * answer arrived or its body broke off, or AnswerTooLargeError beyond `maxBytes`.
 */
export async function postJson(client: UpstreamClient, request: { path: string; headers: Record<string, string>; body: unknown; signal: AbortSignal; maxBytes: number }): Promise<JsonAnswer> {
  const payload = Buffer.from(JSON.stringify(request.body));
  const answer = await client.send({
    method: 'POST',
    path: request.path,
    headers: { ...request.headers, 'content-type': 'application/json', accept: 'application/json', 'content-length': String(payload.length) },
    body: payload,
    signal: request.signal,
  });
  try {
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of answer.body) {
        const buffer = chunk as Buffer;
        size += buffer.length;
        if (size > request.maxBytes) {
          answer.body.destroy();
          throw new AnswerTooLargeError(request.maxBytes);
        }
        parts.push(buffer);
      }
    } catch (err) {
      if (err instanceof AnswerTooLargeError || err instanceof UpstreamCallError) throw err;
      if (request.signal.aborted) throw new UpstreamCallError('aborted', 'the call was abandoned');
      throw new UpstreamCallError('network', `the answer broke off: ${(err as Error).message ?? String(err)}`);
    }
    const text = Buffer.concat(parts).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: answer.status, headers: answer.headers, body };
  } finally {
    answer.done();
  }
}
