/**
 * The trace and observation resources as the Brixo tracing ingest documents them. Every rule is a
 * zod check so that one parse reports every failing field; the cross-field rules (ended_at after
 * started_at) run even when other fields failed, for the same reason.
 */
import { z } from 'zod';
import { rfc3339Nanos } from './rfc3339';

const MAX_METADATA_BYTES = 16 * 1024;
const MAX_METADATA_DEPTH = 3;
/**
 * Freeform objects (input, output, parameters) are echoed in the answer and stored as JSON text;
 * JSON.stringify overflows the stack on a few thousand levels, so nesting is bounded well below.
 */
const MAX_PAYLOAD_DEPTH = 64;
const METRIC_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const OBSERVATION_KINDS = ['llm', 'tool', 'retrieval', 'rerank', 'eval', 'system'] as const;
export const STATUSES = ['success', 'error', 'timeout', 'cancelled'] as const;

/** "is required" for a missing value, "must be <expected>" for one of the wrong type. */
function expecting(expected: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}`) };
}

const string = () => z.string(expecting('a string'));
const label = string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
/** Provider, model and endpoint names: the doc gives no bound, this one keeps rows sane. */
const name256 = string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const boolean = () => z.boolean(expecting('true or false'));
const nonNegative = z.number(expecting('a number')).min(0, 'must not be negative');
// Not .int(): its failure aborts the parse, which would hide the cross-field checks of the resource.
const count = z
  .number(expecting('a number'))
  .min(0, 'must not be negative')
  .refine(Number.isSafeInteger, { message: 'must be a whole number', params: { rule: 'not_integer' } });
const timestamp = string().refine((text) => rfc3339Nanos(text) !== undefined, {
  message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2025-09-17T12:34:56Z',
  params: { rule: 'invalid_format' },
});

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expecting(`one of: ${values.join(', ')}`));
}

/** Levels of objects and arrays in a JSON value (a scalar is 0), counted no further than `limit`. */
export function depthOf(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object' || limit < 0) return 0;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, depthOf(child, limit - 1));
    if (deepest > limit) break;
  }
  return 1 + deepest;
}

const freeformObject = () => z.record(z.string(), z.unknown(), expecting('an object'));

const payload = freeformObject().refine((value) => depthOf(value, MAX_PAYLOAD_DEPTH) <= MAX_PAYLOAD_DEPTH, {
  message: `must be nested at most ${MAX_PAYLOAD_DEPTH} levels deep`,
  params: { rule: 'too_deep' },
});

const metadata = freeformObject().superRefine((value, ctx) => {
  const depth = depthOf(value, MAX_PAYLOAD_DEPTH);
  if (depth > MAX_METADATA_DEPTH) {
    ctx.addIssue({ code: 'custom', message: `must be nested at most ${MAX_METADATA_DEPTH} levels deep (this is ${depth > MAX_PAYLOAD_DEPTH ? `over ${MAX_PAYLOAD_DEPTH}` : depth})`, params: { rule: 'too_deep' } });
  }
  // Serializing is only safe (and only needed) when the depth did not already rule it out.
  if (depth <= MAX_PAYLOAD_DEPTH) {
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > MAX_METADATA_BYTES) ctx.addIssue({ code: 'custom', message: `must be at most 16 KB serialized (it is ${bytes} bytes)`, params: { rule: 'too_big' } });
  }
});

const metric = z.strictObject(
  {
    name: string().regex(METRIC_NAME, 'must be 1-64 characters of letters, digits, "_", "." and "-"'),
    value: z.number(expecting('a number')),
    scale: string().nullish(),
    source: oneOf(['human', 'auto']).nullish(),
    at: timestamp.nullish(),
  },
  expecting('an object'),
);
const metrics = z.array(metric, expecting('an array')).nullish();

const errorFields = {
  code: string().min(1, 'must not be empty'),
  type: string().nullish(),
  message: string(),
  retryable: boolean().nullish(),
};

/** Adds "ended_at must not be before started_at" when both are valid timestamps, whatever else failed. */
function endNotBeforeStart<T extends z.ZodType>(schema: T): T {
  return schema.refine(
    (value) => {
      const { started_at: start, ended_at: end } = value as { started_at?: unknown; ended_at?: unknown };
      return (rfc3339Nanos(end as string) ?? 0n) >= (rfc3339Nanos(start as string) ?? 0n);
    },
    {
      message: 'must not be before started_at',
      path: ['ended_at'],
      params: { rule: 'before_started_at' },
      when: (payload) => {
        const value = payload.value as { started_at?: unknown; ended_at?: unknown } | null;
        return typeof value === 'object' && value !== null && typeof value.started_at === 'string' && typeof value.ended_at === 'string' && rfc3339Nanos(value.started_at) !== undefined && rfc3339Nanos(value.ended_at) !== undefined;
      },
    },
  );
}

export const traceAttributesSchema = endNotBeforeStart(
  z.strictObject(
    {
      name: label.nullish(),
      project: label.nullish(),
      environment: label,
      client: z
        .strictObject({ sdk: string().nullish(), version: string().nullish(), user_agent: string().nullish() }, expecting('an object'))
        .nullish(),
      metadata: metadata.nullish(),
      started_at: timestamp.nullish(),
      ended_at: timestamp.nullish(),
      status: oneOf(STATUSES).nullish(),
      error: z.strictObject(errorFields, expecting('an object')).nullish(),
      metrics,
    },
    expecting('an object'),
  ),
);

export const observationAttributesSchema = endNotBeforeStart(
  z.strictObject(
    {
      name: label.nullish(),
      kind: oneOf(OBSERVATION_KINDS),
      started_at: timestamp,
      ended_at: timestamp,
      status: oneOf(STATUSES).nullish(),
      error: z
        .strictObject({ ...errorFields, provider_code: z.union([z.string(), z.number()], expecting('a string or a number')).nullish() }, expecting('an object'))
        .nullish(),
      provider: name256,
      model: name256,
      model_version: name256.nullish(),
      parameters: payload,
      endpoint: name256,
      region: name256.nullish(),
      provider_request_id: name256.nullish(),
      provider_response_id: name256.nullish(),
      input: payload,
      output: payload,
      usage: z
        .strictObject(
          {
            input_tokens: count.nullish(),
            output_tokens: count.nullish(),
            total_tokens: count.nullish(),
            compute_time_ms: nonNegative.nullish(),
            input_time_ms: nonNegative.nullish(),
            output_time_ms: nonNegative.nullish(),
            total_time_ms: nonNegative.nullish(),
          },
          expecting('an object'),
        )
        .nullish(),
      cost: z
        .strictObject(
          {
            total: nonNegative,
            currency: string()
              .min(1, 'must not be empty')
              .max(16, 'must be at most 16 characters')
              .nullish()
              .transform((currency) => currency ?? 'USD'),
            estimated: boolean().nullish(),
          },
          expecting('an object'),
        )
        .nullish(),
      metrics,
      metadata: metadata.nullish(),
    },
    expecting('an object'),
  ),
);

export type TraceAttributes = z.output<typeof traceAttributesSchema>;
export type ObservationAttributes = z.output<typeof observationAttributesSchema>;

/** A client-generated JSON:API id. */
const resourceId = string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

function resourceType<const T extends string>(type: T) {
  return z.literal(type, expecting(`"${type}"`));
}

export const observationResourceSchema = z.looseObject(
  { type: resourceType('observation'), id: resourceId.optional(), attributes: observationAttributesSchema },
  expecting('a resource object'),
);
export type ObservationResource = z.output<typeof observationResourceSchema>;

/** Observations sent together must not share an id: each id names one span. */
function distinctIds<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((items, ctx) => {
    const seen = new Set<string>();
    (items as unknown[]).forEach((item, index) => {
      const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
      if (typeof id !== 'string') return;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', message: `duplicates the id of an earlier observation ("${id}")`, path: [index, 'id'], params: { rule: 'duplicate' } });
      seen.add(id);
    });
  }, { when: (payload) => Array.isArray(payload.value) });
}

const observationList = distinctIds(z.array(observationResourceSchema, expecting('an array of observation resource objects')));

const traceResourceFields = { type: resourceType('trace'), id: resourceId.optional(), attributes: traceAttributesSchema };

/** POST /instrumentation/tracing/v1/: a trace without observations (those come later, by trace id). */
export const createTraceDocumentSchema = z.looseObject(
  {
    data: z.looseObject(
      {
        ...traceResourceFields,
        relationships: z
          .looseObject(
            {
              observations: z
                .looseObject(
                  {
                    data: z
                      .array(z.unknown(), expecting('an array'))
                      .max(0, `must be empty here: send a trace with observations to POST /instrumentation/tracing/v1/traces`)
                      .optional(),
                  },
                  expecting('an object'),
                )
                .optional(),
            },
            expecting('an object'),
          )
          .optional(),
      },
      expecting('a trace resource object'),
    ),
  },
  expecting('a JSON:API document (an object)'),
);

/** POST /instrumentation/tracing/v1/traces: a trace with its observations as full resource objects. */
export const traceWithObservationsDocumentSchema = z.looseObject(
  {
    data: z.looseObject(
      {
        ...traceResourceFields,
        relationships: z.looseObject(
          { observations: z.looseObject({ data: observationList }, expecting('an object')) },
          expecting('an object'),
        ),
      },
      expecting('a trace resource object'),
    ),
  },
  expecting('a JSON:API document (an object)'),
);

/**
 * POST .../traces/:trace_id/observations: one observation resource object, or an array of them.
 * The route picks the schema by the shape of `data`, so that errors point into what was sent
 * instead of listing the failures of both alternatives.
 */
export const oneObservationDocumentSchema = z.looseObject({ data: observationResourceSchema }, expecting('a JSON:API document (an object)'));
export const observationListDocumentSchema = z.looseObject(
  { data: observationList.min(1, 'must hold at least one observation') },
  expecting('a JSON:API document (an object)'),
);
