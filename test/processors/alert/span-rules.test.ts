import { alertProcessorConfigSchema, type PerSpanCondition } from '../../../processors/alert/config';
import { describeCondition } from '../../../processors/alert/conditions';
import { groupKey, spanDimension } from '../../../processors/alert/group';
import { mergeTraceIds, SpanRule, spanValue } from '../../../processors/alert/span-rules';
import { makeSpan, type Attributes, type StatusCode } from '../../../core/span';

let n = 0;
const spanWith = (attributes: Attributes, status: StatusCode = 'unset', traceId?: string) => {
  n += 1;
  return makeSpan({
    traceId: traceId ?? n.toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    name: 'chat',
    status: { code: status, message: '' },
    attributes,
    resource: { attributes: { 'service.name': 'support-bot', 'deployment.environment.name': 'prod' }, droppedAttributesCount: 0, schemaUrl: '' },
  });
};

function ruleOf(fields: Record<string, unknown>): SpanRule {
  const config = alertProcessorConfigSchema.parse({ rules: [{ id: 'r', name: 'R', ...fields }] });
  return new SpanRule(config.rules[0], config.rules[0].condition as PerSpanCondition);
}

describe('per-span conditions', () => {
  it('verdict: flagged by default, error when listed, min_severity on flagged spans only', () => {
    const flagged = (severity?: string) => spanWith({ 'tracehouse.verdict': 'flagged', ...(severity ? { 'tracehouse.verdict.severity': severity } : {}) });
    const defaults = ruleOf({ condition: { type: 'verdict' } }).condition;
    expect(spanValue(defaults, flagged('low'))).toBe(1);
    expect(spanValue(defaults, spanWith({ 'tracehouse.verdict': 'error' }))).toBeUndefined();
    expect(spanValue(defaults, spanWith({ 'tracehouse.verdict': 'pass' }))).toBeUndefined();
    expect(spanValue(defaults, spanWith({}))).toBeUndefined();

    const high = ruleOf({ condition: { type: 'verdict', verdicts: ['flagged', 'error'], min_severity: 'high' } }).condition;
    expect(spanValue(high, flagged('medium'))).toBeUndefined();
    expect(spanValue(high, flagged('high'))).toBe(1);
    expect(spanValue(high, flagged('critical'))).toBe(1);
    expect(spanValue(high, flagged())).toBeUndefined();
    expect(spanValue(high, spanWith({ 'tracehouse.verdict': 'error' }))).toBe(1);
    expect(describeCondition(high)).toBe('span verdict flagged or error (severity >= high)');
  });

  it('error_status and cost_above', () => {
    const errors = ruleOf({ condition: { type: 'error_status' } }).condition;
    expect(spanValue(errors, spanWith({}, 'error'))).toBe(1);
    expect(spanValue(errors, spanWith({}, 'ok'))).toBeUndefined();
    const costly = ruleOf({ condition: { type: 'cost_above', threshold_usd: 0.5 } }).condition;
    expect(spanValue(costly, spanWith({ 'tracehouse.cost_usd': 0.75 }))).toBe(0.75);
    expect(spanValue(costly, spanWith({ 'tracehouse.cost_usd': '0.9' }))).toBe(0.9);
    expect(spanValue(costly, spanWith({ 'tracehouse.cost_usd': 0.5 }))).toBeUndefined();
    expect(spanValue(costly, spanWith({}))).toBeUndefined();
    expect(describeCondition(costly)).toBe('span cost > $0.5');
  });

  it('groups a batch by the group_by values, counting matches and keeping the latest trace ids', () => {
    const rule = ruleOf({ condition: { type: 'error_status' }, group_by: ['workspace', 'model', 'environment', 'service', 'attribute:customer.tier'] });
    const batch = [
      spanWith({ 'tracehouse.workspace': 'acme', 'gen_ai.request.model': 'gpt-4o', 'customer.tier': 'gold' }, 'error', 'a'.repeat(32)),
      spanWith({ 'tracehouse.workspace': 'acme', 'gen_ai.request.model': 'gpt-4o', 'customer.tier': 'gold' }, 'ok'),
      spanWith({ 'tracehouse.workspace': 'acme', 'gen_ai.request.model': 'gpt-4o', 'customer.tier': 'gold' }, 'error', 'b'.repeat(32)),
      spanWith({ 'tracehouse.workspace': 'acme', 'gen_ai.request.model': 'gpt-4o-mini' }, 'error', 'c'.repeat(32)),
    ];
    const matches = rule.match(batch, 3);
    expect(matches).toEqual([
      {
        groupKey: groupKey(rule.config.group_by, { workspace: 'acme', model: 'gpt-4o', environment: 'prod', service: 'support-bot', 'attribute:customer.tier': 'gold' }),
        group: { workspace: 'acme', model: 'gpt-4o', environment: 'prod', service: 'support-bot', 'attribute:customer.tier': 'gold' },
        count: 2,
        lastValue: 1,
        traceIds: ['b'.repeat(32), 'a'.repeat(32)],
      },
      {
        groupKey: groupKey(rule.config.group_by, { workspace: 'acme', model: 'gpt-4o-mini', environment: 'prod', service: 'support-bot', 'attribute:customer.tier': '' }),
        group: { workspace: 'acme', model: 'gpt-4o-mini', environment: 'prod', service: 'support-bot', 'attribute:customer.tier': '' },
        count: 1,
        lastValue: 1,
        traceIds: ['c'.repeat(32)],
      },
    ]);
    // Counting rules add up over the incident; cost_above reports the latest span's cost.
    expect(rule.valueAfter(4, matches[0])).toBe(6);
    expect(rule.valueAfter(undefined, matches[1])).toBe(1);
  });

  it('applies the filter: workspace, project, operation exactly, model as a glob that crosses slashes', () => {
    const rule = ruleOf({ condition: { type: 'error_status' }, filter: { workspace: 'acme', project: 'bot', operation: 'chat', model: '*gpt-4*' } });
    const base = { 'tracehouse.workspace': 'acme', 'tracehouse.project': 'bot', 'gen_ai.operation.name': 'chat' };
    const count = (attrs: Attributes) => rule.match([spanWith({ ...base, ...attrs }, 'error')], 3).length;
    expect(count({ 'gen_ai.request.model': 'gpt-4o' })).toBe(1);
    expect(count({ 'gen_ai.request.model': 'openai/gpt-4.1' })).toBe(1);
    expect(count({ 'gen_ai.request.model': 'gpt-3.5-turbo' })).toBe(0);
    expect(count({ 'gen_ai.request.model': 'gpt-4o', 'tracehouse.workspace': 'other' })).toBe(0);
    expect(count({ 'gen_ai.request.model': 'gpt-4o', 'tracehouse.project': 'other' })).toBe(0);
    expect(count({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.operation.name': 'embeddings' })).toBe(0);
  });

  it('reads group values from the span first, then its resource, like the spans table does', () => {
    const span = makeSpan({
      traceId: 'f'.repeat(32),
      spanId: 'f'.repeat(16),
      name: 'x',
      attributes: { 'tracehouse.project': 'own' },
      resource: { attributes: { 'tracehouse.workspace': 'from-resource', 'tracehouse.project': 'resource-project' }, droppedAttributesCount: 0, schemaUrl: '' },
    });
    expect(spanDimension(span, 'workspace')).toBe('from-resource');
    expect(spanDimension(span, 'project')).toBe('own');
    expect(spanDimension(span, 'service')).toBe('');
  });

  it('merges trace ids latest first without repeats', () => {
    expect(mergeTraceIds(['c', 'a'], ['a', 'b', 'd'], 3)).toEqual(['c', 'a', 'b']);
  });
});
