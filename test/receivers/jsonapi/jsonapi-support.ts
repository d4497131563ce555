import { rootSpanIdFor, spanIdFor, traceIdFor } from '../../../core/ingest/ids';
import { postJson, TEST_WORKSPACE } from '../../support/daemon';

export const JSONAPI = 'application/vnd.api+json';
/** A key of the test workspace for the rate-limit test, so it has a budget of its own. */
export const RATE_LIMIT_KEY = 'th_test_acme_ratelimit_0123456789';
/** A key of the test workspace restricted to the events receiver. */
export const EVENTS_ONLY_KEY = 'th_other_key_0123456789abcdef';

/** POSTs a JSON:API document (or raw text) with the test key unless `headers` says otherwise. */
export function postJsonApi(url: string, body: unknown, headers: Record<string, string> = {}) {
  return postJson(url, body, { 'content-type': JSONAPI, ...headers });
}

/** The OTLP ids the receiver derives for a JSON:API trace id and its observations. */
export function idsOf(traceResourceId: string) {
  const traceId = traceIdFor(TEST_WORKSPACE, traceResourceId);
  return {
    traceId,
    rootSpanId: rootSpanIdFor(TEST_WORKSPACE, traceId),
    observationSpanId: (id: string) => spanIdFor(TEST_WORKSPACE, traceId, /^[0-9a-f]{16}$/i.test(id) ? id : `observation:${id}`),
  };
}

/** ClickHouse's toString(DateTime64(9)) of an RFC 3339 UTC time with up to 9 fraction digits. */
export function chTime(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(rfc3339);
  if (!m) throw new Error(`not a UTC RFC 3339 time: ${rfc3339}`);
  return `${m[1]} ${m[2]}.${(m[3] ?? '').padEnd(9, '0')}`;
}

/** The columns the tests check, one row per span. */
export const ROW_COLUMNS = `TraceId, SpanId, ParentSpanId, SpanName, toString(SpanKind) AS SpanKind, toString(Timestamp) AS Timestamp,
  toString(Duration) AS Duration, toString(StatusCode) AS StatusCode, StatusMessage, Workspace, Project, Environment,
  GenAIOperation, GenAIProvider, GenAIRequestModel, GenAIResponseModel, toString(InputTokens) AS InputTokens,
  toString(OutputTokens) AS OutputTokens, CostUsd, Input, Output, SpanAttributes`;

export interface SpanRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  Timestamp: string;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  Workspace: string;
  Project: string;
  Environment: string;
  GenAIOperation: string;
  GenAIProvider: string;
  GenAIRequestModel: string;
  GenAIResponseModel: string;
  InputTokens: string;
  OutputTokens: string;
  CostUsd: number;
  Input: string;
  Output: string;
  SpanAttributes: Record<string, string>;
}
