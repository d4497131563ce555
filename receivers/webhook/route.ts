import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { traceIdFor } from '../../core/ingest/ids';
import { IngestError, parseBody, plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import type { WorkspaceDirectory } from '../../core/workspaces';
import { mapGeneric } from './generic';
import { GITHUB_EVENT_HEADER, mapGithub } from './github';
import { headerValue } from './headers';
import { recordSpan } from './record';
import type { MappedDelivery } from './record';
import type { ReplayGuard } from './replay-guard';
import { verifySignature } from './signature';
import { mapSnyk, SNYK_EVENT_HEADER } from './snyk';

export const WEBHOOKS_PATH = '/api/ingest/webhooks';

const MAX_DELIVERY_ID_CHARS = 256;

export interface WebhookRouteOptions {
  workspaces: WorkspaceDirectory;
  replays: ReplayGuard;
  toleranceSeconds: number;
  times: RecordTimes;
}

const objectBody = z.looseObject({});

/** POST /api/ingest/webhooks: signed or unsigned alert webhooks, one record per alert. */
export function webhookRoute(options: WebhookRouteOptions): IngestRoute {
  return {
    path: WEBHOOKS_PATH,
    errorStyle: plainErrorStyle,
    handle: async (request) => {
      const release = await checkSignature(request, options);
      try {
        const body = parseBody(objectBody, request.body);
        const delivery = mapDelivery(body, request.headers);
        // A redelivery whose records carry no time of their own keeps the first receive time.
        const untimed = delivery.records.some((record) => record.occurredAtNanos === undefined);
        const id = untimed && delivery.deliveryId !== undefined ? `${delivery.provider}:${delivery.deliveryId}` : undefined;
        const plan = webhookPlan(await options.times.stamp(request, 'webhook.delivery', id), delivery);
        return release ? { ...plan, onSettled: (accepted: boolean) => (accepted ? undefined : release()) } : plan;
      } catch (err) {
        await release?.();
        throw err;
      }
    },
  };
}

/**
 * Workspaces with signing secrets accept signed deliveries only; a signature is reserved when it
 * verifies and forgotten again (the returned release) unless the delivery is accepted, so a failed
 * delivery can be retried as it was signed. Workspaces without secrets ignore the signature headers.
 */
async function checkSignature(request: IngestRequest, options: WebhookRouteOptions): Promise<(() => Promise<void>) | undefined> {
  const secrets = options.workspaces.signingSecrets(request.workspace);
  if (secrets.length === 0) return undefined;
  const verified = verifySignature(request.headers, request.raw, {
    secrets,
    toleranceSeconds: options.toleranceSeconds,
    nowSeconds: Date.now() / 1000,
  });
  const key = `${request.workspace}\u0000${verified.replayKey}`;
  let reserved: boolean;
  try {
    reserved = await options.replays.reserve(key);
  } catch {
    throw new IngestError(503, 'RCV_SHARED_STATE_UNAVAILABLE', 'the shared replay guard cannot be reached right now; retry later', undefined, 1);
  }
  if (!reserved) {
    throw new IngestError(409, 'RCV_SIGNATURE_REPLAYED', 'this signed delivery was already received; sign each delivery with a new timestamp');
  }
  return () => options.replays.release(key);
}

/** The provider from its event header, else from the body's shape; anything else is generic. */
function mapDelivery(body: Record<string, unknown>, headers: IncomingHttpHeaders): MappedDelivery {
  if (headerValue(headers, GITHUB_EVENT_HEADER) !== undefined) return mapGithub(body, headers);
  if (headerValue(headers, SNYK_EVENT_HEADER) !== undefined) return mapSnyk(body, headers);
  if (isObject(body.alert) && isObject(body.alert.security_advisory) && isObject(body.repository)) return mapGithub(body, headers);
  if (Array.isArray(body.newIssues) && isObject(body.project)) return mapSnyk(body, headers);
  return mapGeneric(body);
}

function webhookPlan(request: IngestRequest, delivery: MappedDelivery): IngestPlan {
  const given = delivery.deliveryId;
  if (given !== undefined && given.length > MAX_DELIVERY_ID_CHARS) {
    throw new IngestError(422, 'RCV_VALIDATION', `the delivery id must be at most ${MAX_DELIVERY_ID_CHARS} characters`, [
      { path: ['delivery_id'], message: `must be at most ${MAX_DELIVERY_ID_CHARS} characters`, code: 'too_long' },
    ]);
  }
  const deliveryId = given ?? randomUUID();
  const traceId = traceIdFor(request.workspace, delivery.traceRef ?? `webhook:${delivery.provider}:${deliveryId}`);
  const placement = { workspace: request.workspace, traceId, deliveryId, receivedAtNanos: request.receivedAtNanos };
  return {
    spans: delivery.records.map((record) => recordSpan(delivery.provider, record, placement)),
    answer: { status: 202, body: { ok: true, records: delivery.records.length, delivery_id: deliveryId } },
    // A provider's redelivery of the same delivery id stores nothing twice.
    idempotencyKey: given !== undefined ? `${delivery.provider}:${given}` : undefined,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
