import { createHash, randomBytes } from 'node:crypto';

const TRACE_HEX = /^[0-9a-fA-F]{32}$/;
const SPAN_HEX = /^[0-9a-fA-F]{16}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** sha256 of every part followed by a NUL, as hex: one update call (each call has a fixed cost). */
function hashHex(parts: readonly string[], hexLength: number): string {
  let text = '';
  for (const part of parts) text += part + '\u0000';
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, hexLength);
}

/**
 * The OTLP trace id for an id a client uses for its trace: a 32-hex id (an OTLP id, or the hex of
 * an OpenAI Agents `trace_<32hex>`) is kept as it is; anything else (a request id such as
 * "req_finance_001") is hashed with the workspace, so the same id always lands in the same trace
 * and two workspaces never share one.
 */
export function traceIdFor(workspace: string, externalId: string): string {
  const bare = externalId.startsWith('trace_') ? externalId.slice('trace_'.length) : externalId;
  if (TRACE_HEX.test(bare) && bare !== ZERO_TRACE) return bare.toLowerCase();
  return hashHex(['trace', workspace, externalId], 32);
}

/** The OTLP span id for a client's id of a span: 16-hex ids are kept, anything else is hashed. */
export function spanIdFor(workspace: string, traceId: string, externalId: string): string {
  if (SPAN_HEX.test(externalId) && externalId !== ZERO_SPAN) return externalId.toLowerCase();
  return hashHex(['span', workspace, traceId, externalId], 16);
}

export function randomTraceId(): string {
  return randomHex(16);
}

export function randomSpanId(): string {
  return randomHex(8);
}

/**
 * Random ids are drawn from a pool filled 4 KiB at a time: one call into the CSPRNG per ~300 ids
 * instead of one per id (the gateway draws several per call). Each byte is used once.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/**
 * The id of the root span of a trace that a receiver creates itself (an AITracer trace, a JSON:API
 * trace, an OpenAI Agents trace). Derived, not stored, so that a record naming the trace (a tool
 * call, feedback, an observation) is parented to the root without a lookup, sent before or after it.
 */
export function rootSpanIdFor(workspace: string, traceId: string): string {
  return spanIdFor(workspace, traceId, '\u0000root');
}
