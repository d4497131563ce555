/** ApiVersions (18) v0-2: the versions clients may use; everything advertised is implemented. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const API_VERSIONS_KEY = 18;

function body(handlers: readonly ApiHandler[], errorCode: number, withThrottle: boolean): Writer {
  const w = new Writer().int16(errorCode);
  w.array(handlers, (w, h) => w.int16(h.apiKey).int16(h.minVersion).int16(h.maxVersion));
  if (withThrottle) w.int32(0);
  return w;
}

/**
 * The answer to an ApiVersions request at a version we do not implement: always in the v0
 * layout, which is what clients parse before falling back to an older version.
 */
export function unsupportedApiVersionsResponse(handlers: readonly ApiHandler[]): Writer {
  return body(handlers, ErrorCode.UNSUPPORTED_VERSION, false);
}

export const apiVersionsHandler: ApiHandler = {
  apiKey: API_VERSIONS_KEY,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 2,
  handle(_request, ctx) {
    return body(ctx.broker.handlers, ErrorCode.NONE, ctx.apiVersion >= 1);
  },
};
