import { flattenJson } from '../../core/ingest/attributes';
import { randomTraceId, spanIdFor, traceIdFor } from '../../core/ingest/ids';
import { isoToNanos, msToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import type { AttachmentRecord } from './attachment-store';
import { inputMessages, outputMessages } from './input-parts';
import { correlationOf } from './log-body';
import type { LogBody } from './log-body';

export interface LogSpanContext {
  workspace: string;
  /** The log id: the client's, or one made up for it. */
  id: string;
  /** Whether the client named the id (then the trace id follows from it). */
  clientId: boolean;
  receivedAtNanos: bigint;
  attachments: readonly AttachmentRecord[];
}

/** One log as one span: the AI output to evaluate, with its input, cost, timing and context. */
export function logSpan(body: LogBody, context: LogSpanContext): Span {
  const { workspace, id } = context;
  const traceId = context.clientId ? traceIdFor(workspace, id) : randomTraceId();
  const start = body.timestamp !== undefined ? (isoToNanos(body.timestamp) ?? context.receivedAtNanos) : context.receivedAtNanos;
  const end = start + (body.latencyMs !== undefined ? msToNanos(body.latencyMs) : 0n);
  return makeSpan({
    traceId,
    spanId: spanIdFor(workspace, traceId, id),
    name: body.task ?? 'log',
    kind: 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes: logAttributes(body, context),
  });
}

function logAttributes(body: LogBody, context: LogSpanContext): Attributes {
  const attributes: Attributes = {
    'tracehouse.record_type': 'log',
    'tracehouse.log_id': context.id,
    'tracehouse.project': body.project,
  };
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined) attributes[key] = value;
  };
  set('tracehouse.task', body.task);
  set('gen_ai.request.model', body.model);
  set('gen_ai.input.messages', inputMessages(body.input, body.inputText));
  attributes['gen_ai.output.messages'] = outputMessages(body.output);
  set('tracehouse.input_text', body.inputText);
  // Numbers stay doubles even when whole: a cost or confidence of 1 is still a fraction's domain.
  set('tracehouse.cost_usd', body.costUsd);
  set('tracehouse.confidence', body.confidence);
  set('gen_ai.conversation.id', correlationOf(body, 'sessionId'));
  set('tracehouse.subject_id', correlationOf(body, 'subjectId'));
  const actor = correlationOf(body, 'actorId');
  set('enduser.id', actor);
  set('tracehouse.actor_id', actor);
  // Read by rule evaluation, which posts its result there.
  set('tracehouse.callback.url', body.callbackUrl);
  set('tracehouse.callback.events', body.callbackEvents ?? (body.callbackUrl !== undefined ? 'all' : undefined));
  if (context.attachments.length > 0) {
    attributes['tracehouse.attachments'] = JSON.stringify(context.attachments);
    attributes['tracehouse.attachment_count'] = BigInt(context.attachments.length);
  }
  if (body.metadata) flattenJson(attributes, 'metadata', body.metadata);
  return attributes;
}
