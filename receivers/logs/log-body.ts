import { z } from 'zod';
import { isIsoTimestamp } from '../../core/ingest/time';
import { attachmentSchema } from './attachment-body';
import { isHttpUrl } from './http-url';
import { inputSchema } from './input-parts';

export const MAX_OUTPUT_CHARACTERS = 50_000;

export const CALLBACK_EVENTS = ['all', 'flagged_error', 'decisions', 'flagged_error_decisions', 'pass'] as const;

/** The names each correlation id is accepted under, the canonical one first. */
export const ID_ALIASES = {
  sessionId: ['sessionId', 'conversationId', 'threadId', 'chatId'],
  subjectId: ['subjectId', 'customerId', 'recordId', 'ticketId', 'accountId'],
  actorId: ['actorId', 'userId', 'endUserId', 'agentId'],
} as const;

const text = (max: number) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const nonNegative = z.number().min(0, 'must be at least 0');

/** Workflow tools often map a numeric customer or ticket id straight through: it is kept as text. */
const correlationId = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string({ error: 'must be a string or a number' }).trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters'));

const aliasFields = Object.fromEntries(Object.values(ID_ALIASES).flatMap((names) => names.map((name) => [name, correlationId.optional()]))) as Record<
  (typeof ID_ALIASES)[keyof typeof ID_ALIASES][number],
  z.ZodOptional<typeof correlationId>
>;

/**
 * POST /api/logs. Unknown top-level fields are ignored (stripped), as the API accepts them;
 * every known field is checked so that one 422 lists every problem.
 */
export function logBodySchema(maxAttachmentBytes: number) {
  return z.object({
    project: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    output: z.string().max(MAX_OUTPUT_CHARACTERS, `must be at most ${MAX_OUTPUT_CHARACTERS} characters`),
    task: text(128).optional(),
    model: text(256).optional(),
    latencyMs: nonNegative.optional(),
    costUsd: nonNegative.optional(),
    input: inputSchema.optional(),
    inputText: z.string().optional(),
    attachments: z.array(attachmentSchema(maxAttachmentBytes)).optional(),
    callbackUrl: z.string().refine(isHttpUrl, 'must be an absolute http(s) URL').optional(),
    callbackEvents: z.enum(CALLBACK_EVENTS, { error: `must be one of ${CALLBACK_EVENTS.join(', ')}` }).optional(),
    metadata: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
    id: text(256).optional(),
    sync: z.boolean().optional(),
    confidence: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    timestamp: z.string().refine(isIsoTimestamp, 'must be an ISO 8601 timestamp with a time zone, e.g. 2024-11-15T10:30:00Z').optional(),
    ...aliasFields,
  });
}

export type LogBody = z.output<ReturnType<typeof logBodySchema>>;

/** The first of a correlation id's names the body carries. */
export function correlationOf(body: LogBody, field: keyof typeof ID_ALIASES): string | undefined {
  for (const name of ID_ALIASES[field]) {
    const value = body[name];
    if (value !== undefined) return value;
  }
  return undefined;
}
