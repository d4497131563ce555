/** What traces and observations share: status, error, metrics and metadata. */
import { flattenJson } from '../../core/ingest/attributes';
import type { Attributes, SpanStatus } from '../../core/span';
import type { ObservationAttributes, TraceAttributes } from './schema';

type Shared = Pick<TraceAttributes & ObservationAttributes, 'status' | 'metrics' | 'metadata'> & {
  error?: (TraceAttributes['error'] & { provider_code?: string | number | null }) | null;
};

/**
 * error and timeout are OTLP errors; cancelled is not a failure of the step, so the span stays
 * unset and the document's status is kept in tracehouse.status (as every given status is). An
 * error object without a status still marks the span failed.
 */
export function spanStatusOf(status: Shared['status'], error: Shared['error']): SpanStatus {
  if (status === 'success') return { code: 'ok', message: '' };
  if (status === 'error' || status === 'timeout' || ((status === undefined || status === null) && error)) {
    return { code: 'error', message: error?.message ?? status ?? 'error' };
  }
  return { code: 'unset', message: '' };
}

export function addSharedAttributes(out: Attributes, shared: Shared): void {
  if (shared.status) out['tracehouse.status'] = shared.status;
  const error = shared.error;
  if (error) {
    out['error.type'] = error.type ?? error.code;
    out['jsonapi.error.code'] = error.code;
    out['jsonapi.error.message'] = error.message;
    if (typeof error.retryable === 'boolean') out['jsonapi.error.retryable'] = error.retryable;
    if (error.provider_code !== undefined && error.provider_code !== null) out['jsonapi.error.provider_code'] = String(error.provider_code);
  }
  // A metric named twice keeps its last value: attributes hold one value per key.
  for (const metric of shared.metrics ?? []) {
    const key = `metric.${metric.name}`;
    out[key] = metric.value;
    if (metric.scale) out[`${key}.scale`] = metric.scale;
    if (metric.source) out[`${key}.source`] = metric.source;
    if (metric.at) out[`${key}.at`] = metric.at;
  }
  if (shared.metadata) flattenJson(out, 'metadata', shared.metadata);
}
