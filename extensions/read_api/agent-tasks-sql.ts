/**
 * The per-task aggregate over a trace's spans (calls, tokens, cost, detections, latest status
 * mark), shared by the task list, a task's detail and a conversation's tasks.
 */
import { attr, FINDING_RECORD, IS_CALL, IS_TASK_SPAN, IS_TOOL, RECORD_TYPE, STATUS_RECORD } from './agent-sql';

export interface TaskSummaryRow {
  trace_id: string;
  task: string;
  conversation_id: string;
  user_id: string;
  agent_name: string;
  started_ms: string;
  ended_ms: string;
  llm_calls: string;
  tool_calls: string;
  failed_calls: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: number;
  detections: string;
  status_mark: string;
  status_reason: string;
  status_ms: string;
  task_spans: string;
  /** The trace's first and last stored span in the range (epoch ms), records included. */
  first_ms: string;
  last_ms: string;
}

const nonEmpty = (key: string) => `anyIf(${attr(key)}, ${attr(key)} != '')`;
const IS_STATUS = `${RECORD_TYPE} = '${STATUS_RECORD}'`;
const IS_WORK = `${RECORD_TYPE} = ''`;

/** Each column of TaskSummaryRow as an aggregate over a trace's spans (grouped by TraceId). */
const TASK_SUMMARY: Readonly<Record<keyof TaskSummaryRow, string>> = {
  trace_id: 'TraceId',
  task: nonEmpty('tracehouse.task'),
  conversation_id: nonEmpty('gen_ai.conversation.id'),
  user_id: nonEmpty('enduser.id'),
  agent_name: nonEmpty('gen_ai.agent.name'),
  started_ms: `toUnixTimestamp64Milli(minIf(Timestamp, ${IS_WORK}))`,
  ended_ms: `intDiv(maxIf(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration), ${IS_WORK}), 1000000)`,
  llm_calls: `countIf(${IS_CALL} AND NOT ${IS_TOOL})`,
  tool_calls: `countIf(${IS_CALL} AND ${IS_TOOL})`,
  failed_calls: `countIf(${IS_CALL} AND StatusCode = 'Error')`,
  input_tokens: `sumIf(InputTokens, ${IS_CALL})`,
  output_tokens: `sumIf(OutputTokens, ${IS_CALL})`,
  cost_usd: `sumIf(CostUsd, ${IS_CALL})`,
  detections: `countIf(${RECORD_TYPE} = '${FINDING_RECORD}')`,
  status_mark: `argMaxIf(${attr('tracehouse.task.status')}, Timestamp, ${IS_STATUS})`,
  status_reason: `argMaxIf(${attr('tracehouse.task.status_reason')}, Timestamp, ${IS_STATUS})`,
  status_ms: `toUnixTimestamp64Milli(maxIf(Timestamp, ${IS_STATUS}))`,
  task_spans: `countIf(${IS_TASK_SPAN})`,
  first_ms: 'toUnixTimestamp64Milli(min(Timestamp))',
  last_ms: 'toUnixTimestamp64Milli(max(Timestamp))',
};

/** SELECT list of `columns` of TaskSummaryRow (all by default), to be grouped by TraceId. */
export function taskSummaryColumns(columns: readonly (keyof TaskSummaryRow)[] = Object.keys(TASK_SUMMARY) as (keyof TaskSummaryRow)[]): string {
  return columns.map((name) => `${TASK_SUMMARY[name]} AS ${name}`).join(',\n  ');
}

/** SELECT list of TaskSummaryRow, to be grouped by TraceId. */
export const TASK_SUMMARY_COLUMNS = taskSummaryColumns();

export type TaskStatusName = 'running' | 'completed' | 'failed';

export const STATUS_OF_ROW = `if(status_mark = '', 'running', status_mark)`;
export const HAS_FAILURES_OF_ROW = `(detections > 0 OR failed_calls > 0)`;

/** A task as the list and detail routes answer it (the detail adds calls and detections). */
export function taskOfRow(row: TaskSummaryRow): Record<string, unknown> {
  const detections = Number(row.detections);
  const failed = Number(row.failed_calls);
  const input = Number(row.input_tokens);
  const output = Number(row.output_tokens);
  const started = Number(row.started_ms);
  const ended = Number(row.ended_ms);
  const statusAt = Number(row.status_ms);
  return {
    id: row.task !== '' ? row.task : row.trace_id,
    trace_id: row.trace_id,
    status: (row.status_mark === '' ? 'running' : row.status_mark) as TaskStatusName,
    status_reason: row.status_reason === '' ? null : row.status_reason,
    status_updated_at: statusAt > 0 ? new Date(statusAt).toISOString() : null,
    conversation_id: row.conversation_id === '' ? null : row.conversation_id,
    user_id: row.user_id === '' ? null : row.user_id,
    agent_name: row.agent_name === '' ? null : row.agent_name,
    started_at: started > 0 ? new Date(started).toISOString() : null,
    ended_at: ended > 0 ? new Date(ended).toISOString() : null,
    duration_ms: started > 0 && ended >= started ? ended - started : null,
    llm_calls: Number(row.llm_calls),
    tool_calls: Number(row.tool_calls),
    failed_calls: failed,
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    cost_usd: Number(row.cost_usd),
    detection_count: detections,
    has_failures: detections > 0 || failed > 0,
  };
}
