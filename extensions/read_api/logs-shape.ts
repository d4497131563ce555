/**
 * Logs as the log-evaluation API answers them: a list row (`executions[]`), the status poll, and
 * a single log with its text, verdict, findings, metadata and decision.
 */
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import type { Finding } from '../../core/evaluation';
import type { IndexRow } from './log-index';
import { isoOfNanos } from './log-index';
import { projectIdFor } from './projects-model';
import { mediaKeyOf } from './media-key';

export type HumanDecision = 'approved' | 'rejected';

/** A decision object's spec (kind `decision`, id = the log id). */
export interface DecisionSpec {
  decision: HumanDecision;
  [key: string]: unknown;
}

export interface DecisionView {
  humanDecision: HumanDecision | null;
  decidedBy: string | null;
  decidedAt: string | null;
  /** The reviewer's note sent with the decision. */
  decisionNote: string | null;
}

const NO_DECISION: DecisionView = { humanDecision: null, decidedBy: null, decidedAt: null, decisionNote: null };

/**
 * The latest decisions on some logs of the workspace, by log id (a log without one is absent):
 * decisions are not held in memory (STORED_ONLY_KINDS), so this is one read of the objects table
 * per page of logs, by its ordering key.
 */
export async function decisionsOf(objects: ControlObjects, workspace: string, ids: readonly string[]): Promise<Map<string, DecisionView>> {
  const out = new Map<string, DecisionView>();
  if (ids.length === 0) return out;
  for (const [id, object] of await objects.fetch('decision', workspace, ids)) out.set(id, decisionView(object));
  return out;
}

/** A log's decision as reads show it, from its map of decisionsOf. */
export function decisionIn(decisions: ReadonlyMap<string, DecisionView>, id: string): DecisionView {
  return decisions.get(id) ?? NO_DECISION;
}

function decisionView(object: ControlObject | undefined): DecisionView {
  const decision = object?.spec.decision;
  if (object === undefined || (decision !== 'approved' && decision !== 'rejected')) return NO_DECISION;
  const note = object.spec.note;
  return { humanDecision: decision, decidedBy: object.changedBy, decidedAt: new Date(object.updatedAt).toISOString(), decisionNote: typeof note === 'string' ? note : null };
}

/** The workspace's projects by every name their logs may carry (renames and merges keep aliases). */
export function projectsByName(objects: ControlObjects, workspace: string): Map<string, { id: string; name: string }> {
  const out = new Map<string, { id: string; name: string }>();
  for (const project of objects.list('project', workspace)) {
    if (project.workspace !== workspace) continue;
    const name = typeof project.spec.name === 'string' ? project.spec.name : project.id;
    const aliases = Array.isArray(project.spec.aliases) ? project.spec.aliases.filter((a): a is string => typeof a === 'string') : [];
    for (const n of [name, ...aliases]) if (!out.has(n) || n === name) out.set(n, { id: project.id, name });
  }
  return out;
}

/** The confidence the status answer gives: the judge's or the client's, else 1 (0 for an error). */
function confidenceScore(row: IndexRow): number {
  return row.confidence ?? (row.status === 'error' ? 0 : 1);
}

const nonEmpty = (value: string) => (value === '' ? null : value);

/**
 * `verdict` as the document's status poll shows it: a string (pass, flagged or error), the same in
 * every answer; null while the log has none (status pending). The rules behind it are `rules`.
 */
const verdictOf = (row: IndexRow) => (row.status === 'pending' ? null : row.status);

/** One row of `executions[]`. */
export function executionOf(row: IndexRow, workspace: string, projects: Map<string, { id: string; name: string }>, decision: DecisionView): Record<string, unknown> {
  const project = projects.get(row.project);
  return {
    id: row.log_id,
    timestamp: isoOfNanos(row.ts_ns),
    status: row.status,
    projectId: project?.id ?? projectIdFor(workspace, row.project),
    projectName: project?.name ?? row.project,
    taskName: nonEmpty(row.task),
    model: nonEmpty(row.model),
    latencyMs: row.latency_ms,
    costUsd: row.cost_usd,
    confidenceScore: confidenceScore(row),
    sessionId: nonEmpty(row.session),
    subjectId: nonEmpty(row.subject),
    actorId: nonEmpty(row.actor),
    tags: row.tags,
    verdict: verdictOf(row),
    explanation: row.explanation,
    ...decision,
  };
}

/** GET /api/logs/:id/status. */
export function statusOf(row: IndexRow, decision: DecisionView): Record<string, unknown> {
  return { id: row.log_id, status: row.status, verdict: verdictOf(row), confidenceScore: confidenceScore(row), explanation: row.explanation, humanDecision: decision.humanDecision };
}

/** The stored span's text and attributes a single log adds to its list row. */
export interface LogDetail {
  attributes: Record<string, string>;
  input: string;
  output: string;
}

interface MessagePart {
  type?: string;
  content?: string;
  [key: string]: unknown;
}

function partsOf(messagesJson: string): MessagePart[] | undefined {
  if (messagesJson === '') return undefined;
  try {
    const messages = JSON.parse(messagesJson) as { parts?: MessagePart[] }[];
    return Array.isArray(messages) ? messages.flatMap((m) => (Array.isArray(m?.parts) ? m.parts : [])) : undefined;
  } catch {
    return undefined;
  }
}

/** The input as sent: its text, or its parts when it was multi-modal. */
function inputOf(json: string): unknown {
  const parts = partsOf(json);
  if (parts === undefined || parts.length === 0) return null;
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => p.content ?? '').join('\n');
  return parts;
}

function outputOf(json: string): string {
  const parts = partsOf(json);
  if (parts === undefined) return json;
  return parts.filter((p) => p.type === 'text').map((p) => p.content ?? '').join('\n');
}

/** `metadata.*` attributes back into the object the client sent (nested keys, arrays from JSON). */
function metadataOf(attributes: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith('metadata.')) continue;
    const path = key.slice('metadata.'.length).split('.');
    let at = out;
    for (const segment of path.slice(0, -1)) {
      const next = at[segment];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) at[segment] = {};
      at = at[segment] as Record<string, unknown>;
    }
    at[path[path.length - 1]] = value.startsWith('[') ? parseOr(value) : value;
  }
  return out;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function findingsOf(json: string | undefined): Finding[] {
  if (!json) return [];
  const parsed = parseOr(json);
  return Array.isArray(parsed) ? (parsed as Finding[]) : [];
}

function attachmentsOf(json: string | undefined): unknown[] {
  if (!json) return [];
  const parsed = parseOr(json);
  return Array.isArray(parsed) ? parsed : [];
}

/** GET /api/logs/:id: the document's fields, the list row's, and the stored text, verdict and decision. */
export function logOf(row: IndexRow, workspace: string, projects: Map<string, { id: string; name: string }>, decision: DecisionView, detail: LogDetail | undefined): Record<string, unknown> {
  const attributes = detail?.attributes ?? {};
  const findings = findingsOf(attributes['tracehouse.findings']);
  return {
    ...executionOf(row, workspace, projects, decision),
    workspaceId: workspace,
    userId: nonEmpty(row.actor),
    input: detail ? inputOf(detail.input) : null,
    inputText: attributes['tracehouse.input_text'] ?? null,
    output: detail ? outputOf(detail.output) : null,
    confidence: attributes['tracehouse.confidence'] !== undefined ? Number(attributes['tracehouse.confidence']) : null,
    // Each rule applied and whether it triggered (the sync answer's verdict.rules); `verdict` stays the list row's string.
    rules: findings.map((f) => ({ name: f.ruleName, triggered: f.outcome === 'triggered' })),
    appliedRules: findings.map((f) => ({ ruleId: f.ruleId, ruleName: f.ruleName, ruleType: f.ruleType, ruleValue: f.ruleValue, scope: f.scope, outcome: f.outcome })),
    findings: findings.filter((f) => f.outcome !== 'passed'),
    metadata: metadataOf(attributes),
    // Each with the key GET /api/media/:key serves it under.
    attachments: attachmentsOf(attributes['tracehouse.attachments']).map((a, i) =>
      a !== null && typeof a === 'object' ? { ...(a as Record<string, unknown>), mediaKey: mediaKeyOf(workspace, row.log_id, i, typeof (a as { name?: unknown }).name === 'string' ? (a as { name: string }).name : undefined) } : a,
    ),
    callbackEvents: nonEmpty(row.callback_events),
    traceId: row.trace_id,
    spanId: row.span_id,
  };
}
