import { modelMatcher } from '../../core/rules/model-glob';
import type { AttributeValue, Span } from '../../core/span';
import type { RuleScope } from './rule-config';

export { modelMatcher } from '../../core/rules/model-glob';
export type { ModelMatcher } from '../../core/rules/model-glob';

/** Where a span names its model, response model first (what actually answered). */
export const MODEL_KEYS = ['gen_ai.response.model', 'gen_ai.request.model'] as const;

/** The model names a span reports. */
export function spanModels(span: Span): string[] {
  const out: string[] = [];
  for (const key of MODEL_KEYS) {
    const value = span.attributes[key];
    if (typeof value === 'string' && value !== '' && !out.includes(value)) out.push(value);
  }
  return out;
}

/** Decides whether a span is in a rule's scope; every condition the scope gives must hold. */
export type ScopeTest = (span: Span) => boolean;

export function scopeTest(scope: RuleScope | undefined): ScopeTest {
  if (!scope) return () => true;
  const tests: ScopeTest[] = [];
  const { workspace, project, task, model } = scope;
  // Workspace and project may come from the resource (SDK-set) as the ClickHouse columns do.
  if (workspace !== undefined) tests.push((span) => contextValue(span, 'tracehouse.workspace') === workspace);
  if (project !== undefined) tests.push((span) => contextValue(span, 'tracehouse.project') === project);
  if (task !== undefined) tests.push((span) => span.attributes['tracehouse.task'] === task);
  if (model !== undefined) {
    const matches = modelMatcher(model);
    tests.push((span) => spanModels(span).some(matches));
  }
  return (span) => tests.every((test) => test(span));
}

/**
 * A span's project is one of the names `namesNow` gives when asked (the current names of a
 * project named by id: a rename keeps matching); none when the project no longer exists.
 */
export function projectNamesTest(namesNow: () => readonly string[] | undefined): ScopeTest {
  return (span) => {
    const project = contextValue(span, 'tracehouse.project');
    return typeof project === 'string' && (namesNow()?.includes(project) ?? false);
  };
}

/** How a finding names the scope: "global", or its conditions such as "project=support,model=gpt-4o*". */
export function scopeLabel(scope: RuleScope | undefined): string {
  const parts: string[] = [];
  for (const key of ['workspace', 'project', 'task', 'model'] as const) {
    const value = scope?.[key];
    if (value !== undefined) parts.push(`${key}=${value}`);
  }
  return parts.length === 0 ? 'global' : parts.join(',');
}

function contextValue(span: Span, key: string): AttributeValue | undefined {
  return span.attributes[key] ?? span.resource.attributes[key];
}
