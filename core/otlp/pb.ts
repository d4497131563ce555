/**
 * Short names for the generated OTLP message classes (core/otlp/generated, built by
 * `npm run gen:proto`), so the codec files do not spell out the proto package paths.
 */
import { google, opentelemetry } from './generated/otlp';

import collector = opentelemetry.proto.collector.trace.v1;
import trace = opentelemetry.proto.trace.v1;
import common = opentelemetry.proto.common.v1;

export const ExportTraceServiceRequest = collector.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = collector.ExportTraceServiceResponse;
export const RpcStatus = google.rpc.Status;
export const RetryInfo = google.rpc.RetryInfo;

export type RequestMsg = collector.ExportTraceServiceRequest.$Properties;
export type ResponseMsg = collector.ExportTraceServiceResponse.$Properties;
export type RpcStatusMsg = google.rpc.Status.$Properties;
export type RetryInfoMsg = google.rpc.RetryInfo.$Properties;
export type ResourceSpansMsg = trace.ResourceSpans.$Properties;
export type ScopeSpansMsg = trace.ScopeSpans.$Properties;
export type SpanMsg = trace.Span.$Properties;
export type EventMsg = trace.Span.Event.$Properties;
export type LinkMsg = trace.Span.Link.$Properties;
export type ScopeMsg = common.InstrumentationScope.$Properties;
export type ResourceMsg = opentelemetry.proto.resource.v1.Resource.$Properties;
export type KeyValueMsg = common.KeyValue.$Properties;
export type AnyValueMsg = common.AnyValue.$Properties;

