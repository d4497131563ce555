import type { RawRoute } from '../../core/ingest/receiver';
import type { IngestContext } from '../../core/ingest/route';
import { createOtlpHttpHandler } from '../../core/otlp/http-handler';

export const OTLP_PATH = '/api/integrations/otlp/v1/traces';

/**
 * POST /api/integrations/otlp/v1/traces: OTLP/HTTP (protobuf or JSON) answered exactly as the otlp
 * receiver answers it, behind the workspace keys and the receiver's rate limits. The handler stamps
 * tracehouse.workspace and tracehouse.source, as the JSON routes do.
 */
export function otlpRoute(context: IngestContext): RawRoute {
  return {
    path: OTLP_PATH,
    raw: createOtlpHttpHandler({
      maxRequestBodyBytes: context.maxRequestBodyBytes,
      bodyTimeouts: context.bodyTimeouts,
      auth: context.auth,
      limiter: context.limiter,
      next: context.next,
      telemetry: context.telemetry,
      logger: context.logger,
      accepting: context.accepting,
      sourceId: context.receiverId,
      rateLimit: { limits: context.rateLimits, route: OTLP_PATH },
    }),
  };
}
