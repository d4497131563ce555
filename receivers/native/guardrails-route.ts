import { z } from 'zod';
import { jsonText } from '../../core/ingest/attributes';
import { randomSpanId, randomTraceId } from '../../core/ingest/ids';
import { plainErrorStyle } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { keepUnknownFields, linkTrace } from './trace-link';
import type { TraceLink } from './trace-link';
import { check, idText, isRecord, present, refuseInvalid } from './validation';
import type { FieldPath } from './validation';

export const GUARDRAILS_PATH = '/api/integrations/openai-guardrails';

const MAX_RESULTS = 1000;

/**
 * One guardrail result. OpenAI's guardrails libraries spell the fields `tripwire_triggered`,
 * `output_info` and `guardrail_name` (or put the name in `info.guardrail_name`); those are read too.
 */
const resultSchema = z.looseObject({
  name: idText.nullish(),
  guardrail_name: idText.nullish(),
  triggered: z.boolean().nullish(),
  tripwire_triggered: z.boolean().nullish(),
  info: z.unknown().optional(),
  output_info: z.unknown().optional(),
  execution_failed: z.boolean().nullish(),
});

type GuardrailResult = z.output<typeof resultSchema>;

const envelopeSchema = z.looseObject({ traceId: idText.nullish() });

const KNOWN_FIELDS = new Set([...Object.keys(resultSchema.shape), 'traceId']);

/**
 * POST /api/integrations/openai-guardrails: `{ traceId?, results: [...] }` or one result
 * `{ traceId?, name, triggered, info }`; each result becomes a zero-duration guardrail record, all
 * in the trace named (or in one new trace per request).
 */
export function guardrailsRoute(): IngestRoute {
  return {
    path: GUARDRAILS_PATH,
    errorStyle: plainErrorStyle,
    handle: (request) => guardrailsPlan(request, validate(request.body)),
  };
}

interface GuardrailReport {
  traceId: string | undefined;
  results: GuardrailResult[];
  /** Fields of a `{ results }` envelope besides results and traceId, kept on every record. */
  envelope: Record<string, unknown>;
}

function validate(body: unknown): GuardrailReport {
  const { data, problems } = check(envelopeSchema, body);
  const traceId = data?.traceId ?? undefined;
  if (!isRecord(body)) refuseInvalid(problems);
  const record = body as Record<string, unknown>;
  if (!('results' in record)) {
    const single = checkResult(record, []);
    refuseInvalid([...problems, ...single.problems]);
    return { traceId, results: [single.data as GuardrailResult], envelope: {} };
  }
  const items = record.results;
  if (!Array.isArray(items)) {
    refuseInvalid([...problems, { path: ['results'], message: 'must be an array of guardrail results', code: 'invalid_type' }]);
    return { traceId, results: [], envelope: {} };
  }
  if (items.length === 0 || items.length > MAX_RESULTS) {
    problems.push({ path: ['results'], message: `must hold 1 to ${MAX_RESULTS} guardrail results`, code: items.length === 0 ? 'too_short' : 'too_long' });
  }
  const checked = items.map((item, i) => checkResult(item, ['results', i]));
  refuseInvalid([...problems, ...checked.flatMap((c) => c.problems)]);
  const { results: _results, traceId: _traceId, ...envelope } = record;
  return { traceId, results: checked.map((c) => c.data as GuardrailResult), envelope };
}

function checkResult(item: unknown, at: FieldPath): { data: GuardrailResult | undefined; problems: FieldProblem[] } {
  const { data, problems } = check(resultSchema, item, at);
  if (isRecord(item)) {
    if (nameOf(item) === undefined && !present(item, 'name') && !present(item, 'guardrail_name')) {
      problems.push({ path: [...at, 'name'], message: 'required (or guardrail_name, or info.guardrail_name)', code: 'required' });
    }
    if (!present(item, 'triggered') && !present(item, 'tripwire_triggered')) {
      problems.push({ path: [...at, 'triggered'], message: 'required (or tripwire_triggered)', code: 'required' });
    }
  }
  return { data, problems };
}

/** The guardrail's name from whichever field carries it. */
function nameOf(result: Record<string, unknown>): string | undefined {
  const info = result.info ?? result.output_info;
  const fromInfo = isRecord(info) && typeof info.guardrail_name === 'string' && info.guardrail_name.trim() !== '' ? info.guardrail_name.trim() : undefined;
  const direct = typeof result.name === 'string' ? result.name : typeof result.guardrail_name === 'string' ? result.guardrail_name : undefined;
  return direct ?? fromInfo;
}

function guardrailsPlan(request: IngestRequest, report: GuardrailReport): IngestPlan {
  const link: TraceLink | undefined = report.traceId !== undefined ? linkTrace(request.workspace, report.traceId) : undefined;
  const traceId = link?.traceId ?? randomTraceId();
  const shared: Attributes = {};
  keepUnknownFields(shared, report.envelope, KNOWN_FIELDS);
  if (report.traceId !== undefined) shared['aitracer.trace_id'] = report.traceId;
  const spans = report.results.map((result) => guardrailSpan(request.receivedAtNanos, traceId, link?.rootSpanId ?? '', result, shared));
  return {
    spans,
    answer: { status: 202, body: { ok: true, ids: spans.map((s) => s.spanId), traceId: report.traceId ?? traceId } },
  };
}

function guardrailSpan(at: bigint, traceId: string, parentSpanId: string, result: GuardrailResult, shared: Attributes): Span {
  const name = nameOf(result) as string;
  const info = result.info ?? result.output_info;
  const attributes: Attributes = { ...shared };
  keepUnknownFields(attributes, result, KNOWN_FIELDS);
  attributes['tracehouse.record_type'] = 'guardrail';
  attributes['tracehouse.guardrail.name'] = name;
  attributes['tracehouse.guardrail.triggered'] = (result.triggered ?? result.tripwire_triggered) === true;
  if (info !== undefined && info !== null) attributes['tracehouse.guardrail.info'] = jsonText(info);
  if (result.execution_failed != null) attributes['tracehouse.guardrail.execution_failed'] = result.execution_failed;
  return makeSpan({
    traceId,
    // Results carry no id of their own, and one guardrail may run twice in a trace: random ids keep both.
    spanId: randomSpanId(),
    parentSpanId,
    name: `guardrail ${name}`,
    startTimeUnixNano: at,
    endTimeUnixNano: at,
    // A guardrail that could not run is an error; one that tripped did its job.
    status: result.execution_failed === true ? { code: 'error', message: 'guardrail execution failed' } : { code: 'unset', message: '' },
    attributes,
  });
}
