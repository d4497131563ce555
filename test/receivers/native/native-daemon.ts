import { ingestPipelineYaml, startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

/** A key of the test workspace that may only be used on the events receiver. */
export const EVENTS_ONLY_KEY = 'th_other_key_0123456789abcdef';

/** The test workspace's keys, one of them restricted to another receiver (for 403s). */
export const WORKSPACES_WITH_RESTRICTED_KEY = [`${TEST_WORKSPACE}:`, `  api_keys: ["${TEST_API_KEY}", { key: "${EVENTS_ONLY_KEY}", receivers: [events] }]`];

/** The native receiver (and events, the receiver the restricted key is for) into the embedded ClickHouse. */
export function startNative(database: string, lines: string[] = []): Promise<TestDaemon> {
  return startDaemon(ingestPipelineYaml({ receivers: { native: lines, events: [] }, database, workspaces: WORKSPACES_WITH_RESTRICTED_KEY }));
}

/** The typed columns and attributes of the rows of one trace, oldest first. */
export const ROW_COLUMNS = `SpanName, SpanKind, SpanId, ParentSpanId, Workspace, Environment, GenAIOperation, GenAIProvider, GenAIRequestModel,
  InputTokens, OutputTokens, CostUsd, Input, Output, toString(Duration) AS Duration, StatusCode, StatusMessage, SpanAttributes`;
