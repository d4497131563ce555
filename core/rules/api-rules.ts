/**
 * Rules as the log-evaluation API writes them (`/api/rules`: name, type, value as text, isActive,
 * project and task scope, judge provider and model) and as the rule engine of `evaluate_rules`
 * runs them. The control plane stores the API's shape; `engineRuleOf` maps it onto the engine's
 * rule config (which `evaluate_rules` validates with its own schema), and `apiRuleOf` shows a rule
 * of pipelines.yaml in the API's shape.
 */
import { linearRegexProblem } from '../linear-regex';
import { z } from 'zod';
import { SEVERITIES } from './text-rules';

export const API_RULE_TYPES = [
  'keyword_required',
  'keyword_forbidden',
  'regex_match',
  'length_limit',
  'confidence_threshold',
  'llm_judge',
  'json_field',
  'json_field_keyword_required',
  'json_field_keyword_forbidden',
] as const;

export type ApiRuleType = (typeof API_RULE_TYPES)[number];

export const JUDGE_PROVIDERS = ['openai', 'anthropic', 'openrouter'] as const;

const text = (max: number) => z.string().max(max);

/** The fields of a rule in the API (create: name, type and value are required). */
export const apiRuleFields = {
  name: text(200).min(1),
  type: z.enum(API_RULE_TYPES),
  description: text(2_000).optional(),
  value: text(10_000),
  isActive: z.boolean().optional(),
  projectId: text(200).optional(),
  projectName: text(200).optional(),
  taskName: text(200).optional(),
  llmJudgeProvider: z.enum(JUDGE_PROVIDERS).optional(),
  llmJudgeModel: text(200).optional(),
  /** Extension: the severity of the rule's findings (default medium). */
  severity: z.enum(SEVERITIES).optional(),
};

export const apiRuleSchema = z.strictObject(apiRuleFields);
export type ApiRule = z.output<typeof apiRuleSchema>;

/** A JSON field path of a json_field* rule ("a.b.c") and, for the keyword types, the keyword. */
export function jsonFieldValue(type: ApiRuleType, value: string): { path: string[]; keyword?: string } | undefined {
  let field = value;
  let keyword: string | undefined;
  if (type !== 'json_field') {
    // `{"field": "...", "keyword": "..."}`, or `field:keyword`.
    const trimmed = value.trim();
    if (trimmed.startsWith('{')) {
      try {
        const parsed = JSON.parse(trimmed) as { field?: unknown; keyword?: unknown };
        if (typeof parsed.field !== 'string' || typeof parsed.keyword !== 'string') return undefined;
        field = parsed.field;
        keyword = parsed.keyword;
      } catch {
        return undefined;
      }
    } else {
      const colon = value.indexOf(':');
      if (colon <= 0) return undefined;
      field = value.slice(0, colon);
      keyword = value.slice(colon + 1);
    }
    if (keyword === '') return undefined;
  }
  const path = field.trim().split('.');
  if (path.some((p) => p === '')) return undefined;
  return { path, keyword };
}

/** A problem with a rule's value for its type, or undefined when the value is usable. */
export function apiRuleValueProblem(type: ApiRuleType, value: string): string | undefined {
  switch (type) {
    case 'length_limit':
      return /^\d{1,9}$/.test(value.trim()) ? undefined : 'must be a whole number of characters';
    case 'confidence_threshold': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? undefined : 'must be a number from 0 to 1';
    }
    case 'json_field':
    case 'json_field_keyword_required':
    case 'json_field_keyword_forbidden':
      return jsonFieldValue(type, value) ? undefined : type === 'json_field' ? 'must be a field path such as "answer" or "result.status"' : 'must be "field:keyword" or {"field": "...", "keyword": "..."}';
    case 'regex_match':
      // Checked here, not when the rule first runs: a pattern RE2 cannot run is refused with 422.
      return value.trim() === '' ? 'must not be empty' : linearRegexProblem(value);
    default:
      return value.trim() === '' ? 'must not be empty' : undefined;
  }
}

/** Letters as [xX] classes: a literal, case-insensitive pattern for JSON Schema (no flags there). */
function caseless(keyword: string): string {
  let out = '';
  for (const ch of keyword) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    out += lower !== upper ? `[${lower}${upper}]` : ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return out;
}

/** A JSON Schema requiring `path` (with `leaf` as the schema of its value). */
function nested(path: readonly string[], leaf: Record<string, unknown>): Record<string, unknown> {
  let schema: Record<string, unknown> = leaf;
  for (let i = path.length - 1; i >= 0; i--) schema = { type: 'object', required: [path[i]], properties: { [path[i]]: schema } };
  return schema;
}

/**
 * The engine's rule config for a stored API rule of `workspace` (undefined for "*": every
 * workspace). The result is validated by evaluate_rules' schema.
 */
export function engineRuleOf(workspace: string | undefined, id: string, rule: ApiRule): Record<string, unknown> {
  const scope: Record<string, string> = {};
  if (workspace !== undefined) scope.workspace = workspace;
  if (rule.projectName) scope.project = rule.projectName;
  if (rule.taskName) scope.task = rule.taskName;
  const common = { id, name: rule.name, enabled: rule.isActive ?? true, severity: rule.severity ?? 'medium', ...(Object.keys(scope).length > 0 ? { scope } : {}) };
  switch (rule.type) {
    case 'keyword_required':
    case 'keyword_forbidden':
      return { ...common, type: rule.type, value: rule.value };
    case 'regex_match':
      return { ...common, type: 'regex_required', value: rule.value };
    case 'length_limit':
      return { ...common, type: 'max_length', value: Number(rule.value) };
    case 'confidence_threshold':
      return { ...common, type: 'confidence_threshold', value: Number(rule.value) };
    case 'llm_judge':
      return { ...common, type: 'llm_judge', value: rule.value, ...(rule.llmJudgeProvider ? { provider: rule.llmJudgeProvider } : {}), ...(rule.llmJudgeModel ? { model: rule.llmJudgeModel } : {}) };
    case 'json_field':
    case 'json_field_keyword_required':
    case 'json_field_keyword_forbidden': {
      const field = jsonFieldValue(rule.type, rule.value);
      if (!field) return { ...common, type: 'invalid' };
      const leaf =
        rule.type === 'json_field'
          ? {}
          : rule.type === 'json_field_keyword_required'
            ? { type: 'string', pattern: caseless(field.keyword ?? '') }
            : { not: { type: 'string', pattern: caseless(field.keyword ?? '') } };
      return { ...common, type: 'json_schema', value: nested(field.path, leaf) };
    }
  }
}

/** How a rule of the API names itself in findings (`appliedRules`): its own type and raw value. */
export interface ApiRuleIdentity {
  ruleType: string;
  ruleValue: string;
  /** "global", or the project and task it is scoped to (never the workspace it belongs to). */
  scope: string;
}

export function apiRuleIdentity(rule: Pick<ApiRule, 'type' | 'value' | 'projectId' | 'projectName' | 'taskName'>): ApiRuleIdentity {
  const parts: string[] = [];
  if (rule.projectId) parts.push(`projectId=${rule.projectId}`);
  if (rule.projectName) parts.push(`project=${rule.projectName}`);
  if (rule.taskName) parts.push(`task=${rule.taskName}`);
  return { ruleType: rule.type, ruleValue: rule.value, scope: parts.length === 0 ? 'global' : parts.join(',') };
}

/** Every project name a project object's logs may carry: its name and former names (renames, merges). */
export function projectNamesOf(spec: Record<string, unknown>): string[] {
  const names = typeof spec.name === 'string' ? [spec.name] : [];
  if (Array.isArray(spec.aliases)) for (const alias of spec.aliases) if (typeof alias === 'string' && !names.includes(alias)) names.push(alias);
  return names;
}

const ENGINE_TO_API: Readonly<Record<string, string>> = { regex_required: 'regex_match', max_length: 'length_limit' };

/** A rule of pipelines.yaml (the engine's config) as the API shows it. */
export function apiRuleOf(rule: { id: string; name?: string; type: string; value?: unknown; enabled?: boolean; severity?: string; scope?: { project?: string; task?: string } }): Record<string, unknown> {
  const value = rule.value === undefined ? '' : typeof rule.value === 'string' ? rule.value : JSON.stringify(rule.value);
  return {
    name: rule.name ?? rule.id,
    type: ENGINE_TO_API[rule.type] ?? rule.type,
    value,
    isActive: rule.enabled ?? true,
    ...(rule.severity ? { severity: rule.severity } : {}),
    ...(rule.scope?.project ? { projectName: rule.scope.project } : {}),
    ...(rule.scope?.task ? { taskName: rule.scope.task } : {}),
  };
}
