import { EMPTY_RESOURCE } from '../../../core/span';
import { chatSpan, engineFor, outputSpan } from './support';

const keyword = { type: 'keyword_forbidden', value: 'refund' };

/** The ids of the rules that applied to the span. */
function applied(rules: Record<string, unknown>[], span = outputSpan('refund')): string[] {
  return engineFor(...rules).evaluate(span).map((f) => f.ruleId);
}

describe('rule scopes', () => {
  const context = { 'tracehouse.workspace': 'acme', 'tracehouse.project': 'support', 'tracehouse.task': 'Tone Validator' };

  it('applies a global rule (no scope) to every span', () => {
    expect(applied([{ id: 'g', ...keyword }], outputSpan('refund', context))).toEqual(['g']);
    expect(applied([{ id: 'g', ...keyword }], outputSpan('refund'))).toEqual(['g']);
  });

  it('matches workspace, project and task exactly', () => {
    const rules = [
      { id: 'ws', ...keyword, scope: { workspace: 'acme' } },
      { id: 'ws-other', ...keyword, scope: { workspace: 'globex' } },
      { id: 'proj', ...keyword, scope: { project: 'support' } },
      { id: 'proj-case', ...keyword, scope: { project: 'Support' } },
      { id: 'task', ...keyword, scope: { task: 'Tone Validator' } },
      { id: 'task-other', ...keyword, scope: { task: 'Refunds' } },
    ];
    expect(applied(rules, outputSpan('refund', context))).toEqual(['ws', 'proj', 'task']);
    // A span without the field is outside a scope that names it.
    expect(applied(rules, outputSpan('refund'))).toEqual([]);
  });

  it('reads workspace and project from the resource when the span has none', () => {
    const span = outputSpan('refund');
    const withResource = { ...span, resource: { ...EMPTY_RESOURCE, attributes: { 'tracehouse.workspace': 'acme', 'tracehouse.project': 'support' } } };
    expect(applied([{ id: 'both', ...keyword, scope: { workspace: 'acme', project: 'support' } }], withResource)).toEqual(['both']);
  });

  it('matches the model glob against the response or the request model', () => {
    const rules = [
      { id: 'gpt4', ...keyword, scope: { model: 'gpt-4o*' } },
      { id: 'claude', ...keyword, scope: { model: '*claude*' } },
      { id: 'exact', ...keyword, scope: { model: 'gpt-4o' } },
    ];
    expect(applied(rules, outputSpan('refund', { 'gen_ai.request.model': 'gpt-4o-mini' }))).toEqual(['gpt4']);
    expect(applied(rules, outputSpan('refund', { 'gen_ai.request.model': 'router', 'gen_ai.response.model': 'anthropic/Claude-3.5-Sonnet' }))).toEqual(['claude']);
    expect(applied(rules, outputSpan('refund', { 'gen_ai.request.model': 'GPT-4o' }))).toEqual(['gpt4', 'exact']);
    const noModel = chatSpan({ 'gen_ai.completion': 'refund' });
    delete noModel.attributes['gen_ai.request.model'];
    expect(applied(rules, noModel)).toEqual([]);
  });

  it('requires every condition of a scope to hold', () => {
    const rule = { id: 'both', ...keyword, scope: { project: 'support', model: 'gpt-4o*' } };
    expect(applied([rule], outputSpan('refund', { ...context, 'gen_ai.request.model': 'gpt-4o' }))).toEqual(['both']);
    expect(applied([rule], outputSpan('refund', { ...context, 'gen_ai.request.model': 'o3' }))).toEqual([]);
    expect(applied([rule], outputSpan('refund', { 'gen_ai.request.model': 'gpt-4o' }))).toEqual([]);
  });

  it('names the scope in findings', () => {
    const [finding] = engineFor({ id: 's', ...keyword, scope: { workspace: 'acme', project: 'support', task: 'Tone Validator', model: 'gpt-*' } }).evaluate(outputSpan('refund', context));
    expect(finding.scope).toBe('workspace=acme,project=support,task=Tone Validator,model=gpt-*');
  });
});

describe('disabled rules', () => {
  it('never apply', () => {
    const rules = [
      { id: 'off', ...keyword, enabled: false },
      { id: 'on', ...keyword },
      { id: 'off-too', type: 'max_length', value: 1, enabled: false },
    ];
    const findings = engineFor(...rules).evaluate(outputSpan('refund'));
    expect(findings.map((f) => [f.ruleId, f.outcome])).toEqual([['on', 'triggered']]);
    expect(engineFor({ id: 'off', ...keyword, enabled: false }).size).toBe(0);
  });
});
