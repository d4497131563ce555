/**
 * The older OpenLLMetry (Traceloop) payload that many applications still send: a Python web app
 * whose traces of 90 spans are a request with its database and HTTP calls and many LLM calls
 * described with gen_ai.system, gen_ai.prompt.N.* / gen_ai.completion.N.* (a 200-character prompt),
 * gen_ai.usage.prompt_tokens / completion_tokens and llm.request.type. Requests carry 100 spans
 * cut from that stream of traces, so most traces straddle two requests, as a batching exporter
 * cuts them.
 */
import { makeSpan } from '../core/span';
import type { Attributes, InstrumentationScope, Resource, Span } from '../core/span';
import { stampedText } from './gen-ai-spans';
import { compileTemplate, Placeholders } from './request-template';
import type { RequestTemplate } from './request-template';

export const OPENLLMETRY_SPANS_PER_REQUEST = 100;
export const OPENLLMETRY_SPANS_PER_TRACE = 90;
/** Where traces start inside a request repeats every 9 requests (9 × 100 = 10 × 90). */
const PERIOD = 9;
const SALT = 0x0e11;

const resource: Resource = {
  attributes: {
    'service.name': 'support-bot',
    'deployment.environment': 'bench',
    'telemetry.sdk.language': 'python',
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.version': '1.27.0',
  },
  droppedAttributesCount: 0,
  schemaUrl: '',
};
const scope = (name: string, version: string): InstrumentationScope => ({ name, version, attributes: {}, droppedAttributesCount: 0 });
const SCOPES = {
  server: scope('opentelemetry.instrumentation.flask', '0.48b0'),
  db: scope('opentelemetry.instrumentation.psycopg2', '0.48b0'),
  http: scope('opentelemetry.instrumentation.requests', '0.48b0'),
  llm: scope('opentelemetry.instrumentation.openai.v1', '0.33.9'),
};
const PROMPT = 'You are a support assistant. Read the customer message below and draft a short, friendly reply that answers the question and names the next step. ';
const COMPLETION = 'Thanks for reaching out: your order has shipped and should arrive within two days. ';

/** What sits at position p of a trace: the web request, a query, an outgoing HTTP call or an LLM call. */
function spanAt(p: number, stamp: () => string): Pick<Span, 'name' | 'kind' | 'scope' | 'attributes'> {
  if (p === 0) {
    const attributes: Attributes = { 'http.request.method': 'POST', 'http.route': '/support/reply', 'url.path': '/support/reply', 'url.scheme': 'https', 'http.response.status_code': 200n, 'server.address': 'support.example.com' };
    return { name: 'POST /support/reply', kind: 'server', scope: SCOPES.server, attributes };
  }
  if (p % 10 === 0) {
    const attributes: Attributes = { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': 'SELECT id, status, eta FROM orders WHERE customer_id = %s ORDER BY created_at DESC LIMIT 5', 'net.peer.name': 'db.internal' };
    return { name: 'SELECT shop', kind: 'client', scope: SCOPES.db, attributes };
  }
  if (p % 30 === 15) {
    const attributes: Attributes = { 'http.method': 'GET', 'http.url': 'https://crm.internal/api/customers/recent', 'http.status_code': 200n, 'net.peer.name': 'crm.internal' };
    return { name: 'GET', kind: 'client', scope: SCOPES.http, attributes };
  }
  const attributes: Attributes = {
    'llm.request.type': 'chat',
    'gen_ai.system': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.request.temperature': 0.2,
    'gen_ai.request.max_tokens': 256n,
    'llm.is_streaming': false,
    'gen_ai.openai.api_base': 'https://api.openai.com/v1/',
    'gen_ai.prompt.0.role': 'user',
    'gen_ai.prompt.0.content': stampedText(PROMPT, stamp(), 200),
    'gen_ai.completion.0.role': 'assistant',
    'gen_ai.completion.0.content': stampedText(COMPLETION, stamp(), 120),
    'gen_ai.completion.0.finish_reason': 'stop',
    'gen_ai.usage.prompt_tokens': 52n,
    'gen_ai.usage.completion_tokens': 31n,
    'llm.usage.total_tokens': 83n,
  };
  return { name: 'openai.chat', kind: 'client', scope: SCOPES.llm, attributes };
}

/**
 * The spans of every request n with n mod 9 == k: span g = 100n + i of the stream belongs to trace
 * floor(g / 90) at position g mod 90, its root being span g - position (maybe in an earlier request).
 */
export function buildOpenLlmetrySpans(k: number, ids: Placeholders): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < OPENLLMETRY_SPANS_PER_REQUEST; i++) {
    const inPeriod = 100 * k + i;
    const trace = Math.floor(inPeriod / OPENLLMETRY_SPANS_PER_TRACE);
    const p = inPeriod % OPENLLMETRY_SPANS_PER_TRACE;
    const root = i - p;
    const start = 1_763_900_000_000_000_000n + BigInt(inPeriod) * 20_000_000n;
    spans.push(
      makeSpan({
        // Request n = 9q + k holds traces 10q + trace.
        traceId: ids.traceId(trace, (n) => 10 * Math.floor(n / PERIOD) + trace),
        spanId: ids.spanId(i, (n) => 100 * n + i),
        parentSpanId: p === 0 ? '' : ids.spanId(root, (n) => 100 * n + root),
        startTimeUnixNano: start,
        endTimeUnixNano: start + (p === 0 ? 1_800_000_000n : 15_000_000n),
        resource,
        ...spanAt(p, () => ids.stamp((n) => 100 * n + i)),
      }),
    );
  }
  return spans;
}

/** The body of request n (n ≥ 1), from nine templates built on first use. */
export function openLlmetryRequests(): (n: number) => Buffer {
  const templates: RequestTemplate[] = Array.from({ length: PERIOD }, (_, k) => {
    const ids = new Placeholders(SALT);
    return compileTemplate(buildOpenLlmetrySpans(k, ids), ids);
  });
  return (n) => templates[n % PERIOD].render(n);
}
