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
}

const nonEmpty = (key: string) => `anyIf(${attr(key)}, ${attr(key)} != '')`;
const IS_STATUS = `${RECORD_TYPE} = '${STATUS_RECORD}'`;
const IS_WORK = `${RECORD_TYPE} = ''`;

/** SELECT list of TaskSummaryRow, to be grouped by TraceId. */
export const TASK_SUMMARY_COLUMNS = [
  'TraceId AS trace_id',
  `${nonEmpty('tracehouse.task')} AS task`,
  `${nonEmpty('gen_ai.conversation.id')} AS conversation_id`,
  `${nonEmpty('enduser.id')} AS user_id`,
  `${nonEmpty('gen_ai.agent.name')} AS agent_name`,
  `toUnixTimestamp64Milli(minIf(Timestamp, ${IS_WORK})) AS started_ms`,
  `intDiv(maxIf(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration), ${IS_WORK}), 1000000) AS ended_ms`,
  `countIf(${IS_CALL} AND NOT ${IS_TOOL}) AS llm_calls`,
  `countIf(${IS_CALL} AND ${IS_TOOL}) AS tool_calls`,
  `countIf(${IS_CALL} AND StatusCode = 'Error') AS failed_calls`,
  `sumIf(InputTokens, ${IS_CALL}) AS input_tokens`,
  `sumIf(OutputTokens, ${IS_CALL}) AS output_tokens`,
  `sumIf(CostUsd, ${IS_CALL}) AS cost_usd`,
  `countIf(${RECORD_TYPE} = '${FINDING_RECORD}') AS detections`,
  `argMaxIf(${attr('tracehouse.task.status')}, Timestamp, ${IS_STATUS}) AS status_mark`,
  `argMaxIf(${attr('tracehouse.task.status_reason')}, Timestamp, ${IS_STATUS}) AS status_reason`,
  `toUnixTimestamp64Milli(maxIf(Timestamp, ${IS_STATUS})) AS status_ms`,
  `countIf(${IS_TASK_SPAN}) AS task_spans`,
].join(',\n  ');

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
