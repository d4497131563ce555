import { randomUUID } from 'node:crypto';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../../core/delivery-error';
import { errorMessage } from '../../core/errors';
import { spanKey } from '../../core/evaluation';
import { IngestError, parseBody, plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestContext, IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import type { AttachmentRecord } from './attachment-store';
import { AttachmentStore } from './attachment-store';
import type { LogsReceiverConfig } from './config';
import { pendingAnswer, syncAnswer } from './log-answer';
import { logBodySchema } from './log-body';
import { logSpan } from './log-span';

export const LOGS_PATH = '/api/logs';

import type { TombstoneLookup } from './tombstones';

export type { TombstoneLookup } from './tombstones';

/**
 * POST /api/logs: an AI output to evaluate, stored as one span. A log id deleted through the read
 * API (a `deleted_log` tombstone) within the idempotency window is refused with 409, not stored again.
 */
export function logRoutes(config: LogsReceiverConfig, context: IngestContext, times: RecordTimes, tombstoneOf: TombstoneLookup = () => Promise.resolve(undefined)): IngestRoute[] {
  const schema = logBodySchema(config.max_attachment_bytes);
  const store = new AttachmentStore(config.attachments_dir);

  const storeAttachments = async (body: { attachments?: Parameters<AttachmentStore['record']>[0] }): Promise<AttachmentRecord[]> => {
    if (!body.attachments || body.attachments.length === 0) return [];
    try {
      return await store.record(body.attachments);
    } catch (err) {
      context.logger.error({ err: errorMessage(err), dir: store.dir }, 'could not store a log attachment');
      throw new IngestError(503, 'RCV_ATTACHMENT_STORE_FAILED', 'could not store an attachment; retry later', undefined, DEFAULT_RETRY_AFTER_SECONDS);
    }
  };

  /** A tombstone that cannot be read refuses the log (503, retry): a deleted log must not come back. */
  const refuseDeleted = async (workspace: string, id: string) => {
    let tombstone: { updatedAt: number } | undefined;
    try {
      tombstone = await tombstoneOf(workspace, id);
    } catch (err) {
      context.logger.warn({ err: errorMessage(err) }, 'logs: could not read the deleted-log tombstones; refusing the log');
      throw new IngestError(503, 'RCV_TOMBSTONE_CHECK_FAILED', 'could not check whether this log id was deleted; retry later', undefined, DEFAULT_RETRY_AFTER_SECONDS);
    }
    if (tombstone && Date.now() - tombstone.updatedAt < config.idempotency.ttl_seconds * 1000) {
      throw new IngestError(409, 'RCV_LOG_DELETED', `log "${id.slice(0, 100)}" was deleted at ${new Date(tombstone.updatedAt).toISOString()}; it is not stored again`);
    }
  };

  return [
    {
      path: LOGS_PATH,
      // GET /api/logs (the list) is the read_api extension's, on the same listener.
      sharedPath: true,
      errorStyle: plainErrorStyle,
      handle: async (request: IngestRequest): Promise<IngestPlan> => {
        const body = parseBody(schema, request.body);
        const id = body.id ?? randomUUID();
        if (body.id !== undefined) await refuseDeleted(request.workspace, body.id);
        // Uploads are durable before the span is handed on, so the 200 covers the files too.
        const attachments = await storeAttachments(body);
        // A log with an id and no timestamp keeps its first receive time when sent again.
        const first = body.timestamp === undefined ? await times.stamp(request, 'logs.log', body.id) : request;
        const span = logSpan(body, { workspace: request.workspace, id, clientId: body.id !== undefined, receivedAtNanos: first.receivedAtNanos, attachments });
        return {
          spans: [span],
          // A sync log waits for its verdict: what the pipeline's rule evaluation said about this span.
          answer:
            body.sync === true
              ? (result) => ({ status: 200, body: syncAnswer(id, result?.evaluations?.get(spanKey(span.traceId, span.spanId))) })
              : { status: 200, body: pendingAnswer(id) },
          ...(body.id !== undefined ? { idempotencyKey: body.id } : {}),
        };
      },
    },
  ];
}
