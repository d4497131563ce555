/** The Brixo-style tracing ingest paths, shared by the routes, the answers' links and the claims. */
export const TRACING_BASE_PATH = '/instrumentation/tracing/v1';
/** Express matches it with and without the trailing slash. */
export const CREATE_TRACE_PATH = `${TRACING_BASE_PATH}/`;
export const TRACES_PATH = `${TRACING_BASE_PATH}/traces`;
export const OBSERVATIONS_PATH = `${TRACING_BASE_PATH}/traces/:trace_id/observations`;

export const JSONAPI_MEDIA_TYPE = 'application/vnd.api+json';

export function traceLink(traceId: string): string {
  return `${TRACES_PATH}/${encodeURIComponent(traceId)}`;
}

export function observationLink(traceId: string, observationId: string): string {
  return `${traceLink(traceId)}/observations/${encodeURIComponent(observationId)}`;
}
