/**
 * Every windowed condition type, computed by ClickHouse over spans stored through the real daemon
 * (otlp -> alert -> clickhouse on the embedded engine), read back through the `evaluate` action
 * and the incidents table. Each rule filters on its own project, so the rules do not see each
 * other's spans.
 */
import { startDaemon, uniqueDatabase, type TestDaemon } from '../../support/daemon';
import { action, alertPipelineYaml, incidentRows, sendSpans, span, type IncidentRow } from './support';

const database = uniqueDatabase('alert_windowed');

const rules = `
cooldown_seconds: 0
rules:
  - { id: lat-avg, name: Avg latency, condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 300 }, filter: { project: p-lat } }
  - { id: lat-p95, name: P95 latency, condition: { type: latency_p95, threshold_ms: 1000, window_seconds: 300 }, filter: { project: p-p95 }, group_by: [model] }
  - { id: err-rate, name: Error rate, condition: { type: error_rate, threshold: 0.25, min_spans: 4, window_seconds: 300 }, filter: { project: p-err }, group_by: [workspace] }
  - { id: cost, name: Spend, condition: { type: cost_sum, threshold_usd: 1, window_seconds: 300 }, filter: { project: p-cost } }
  - { id: tokens, name: Tokens, condition: { type: tokens_sum, threshold: 1000, window_seconds: 300 }, filter: { project: p-tok } }
  - { id: flagged, name: Flagged, condition: { type: flagged_count, threshold: 1, window_seconds: 300 }, filter: { project: p-flag } }
  - { id: busy, name: Busy, condition: { type: span_count, threshold: 2, window_seconds: 300 }, filter: { project: p-count } }
  - { id: silent, name: Quiet, condition: { type: span_count, threshold: 5, window_seconds: 300, below: true }, filter: { project: p-silent } }
  - { id: glob, name: Glob, condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 300 }, filter: { project: p-glob, model: "gpt-4o*" } }
  - { id: tier, name: Tier, condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 300 }, filter: { project: p-attr }, group_by: ["attribute:customer.tier"] }
  - { id: calm, name: Calm, condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 300 }, filter: { project: p-calm } }
  - { id: gone, name: Gone, condition: { type: span_count, threshold: 1, window_seconds: 60, below: true }, filter: { project: p-gone }, group_by: [model] }
  - { id: old, name: Old, condition: { type: span_count, threshold: 0, window_seconds: 60 }, filter: { project: p-old } }
`;

const inProject = (project: string, spec: Parameters<typeof span>[0] = {}) =>
  span({ ...spec, attributes: { 'tracehouse.project': project, ...spec.attributes } });

interface Firing {
  incidentId: string;
  ruleId: string;
  group: Record<string, string>;
  value: number;
  threshold: number;
  exampleTraceIds: string[];
}

describe('windowed conditions computed in ClickHouse', () => {
  let daemon: TestDaemon;
  let firing: Firing[];
  const slowest = inProject('p-lat', { durationMs: 2500 });
  const failing = [inProject('p-err', { status: 'error' }), inProject('p-err', { status: 'error' })];
  const flaggedSpans = [1, 2, 3].map(() => inProject('p-flag', { attributes: { 'tracehouse.verdict': 'flagged' } }));

  beforeAll(async () => {
    daemon = await startDaemon(alertPipelineYaml(database, rules));
    const spans = [
      inProject('p-lat', { durationMs: 500 }),
      inProject('p-lat', { durationMs: 1500 }),
      slowest,
      ...Array.from({ length: 10 }, () => inProject('p-p95', { durationMs: 2000, attributes: { 'gen_ai.request.model': 'gpt-4o' } })),
      ...Array.from({ length: 10 }, () => inProject('p-p95', { durationMs: 100, attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } })),
      ...failing,
      inProject('p-err'),
      inProject('p-err'),
      // One failure out of one span is not a rate: below min_spans.
      inProject('p-err', { status: 'error', attributes: { 'tracehouse.workspace': 'tiny' } }),
      ...[1, 2, 3].map(() => inProject('p-cost', { attributes: { 'tracehouse.cost_usd': 0.4 } })),
      ...[1, 2, 3].map(() => inProject('p-tok', { attributes: { 'gen_ai.usage.input_tokens': 300n, 'gen_ai.usage.output_tokens': 200n } })),
      ...flaggedSpans,
      inProject('p-flag', { attributes: { 'tracehouse.verdict': 'pass' } }),
      ...[1, 2, 3].map(() => inProject('p-count')),
      ...[1, 2].map(() => inProject('p-silent')),
      inProject('p-glob', { durationMs: 3000, attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } }),
      ...Array.from({ length: 5 }, () => inProject('p-glob', { durationMs: 100, attributes: { 'gen_ai.request.model': 'claude-sonnet-4' } })),
      inProject('p-attr', { durationMs: 3000, attributes: { 'customer.tier': 'gold' } }),
      inProject('p-attr', { durationMs: 100, attributes: { 'customer.tier': 'free' } }),
      inProject('p-calm', { durationMs: 100 }),
      // A model that sent spans in the window before the current one, and none since.
      inProject('p-gone', { endedMsAgo: 90_000, attributes: { 'gen_ai.request.model': 'retired-model' } }),
      // Stored, but long before the rule's window.
      inProject('p-old', { endedMsAgo: 3_600_000 }),
    ];
    expect(await sendSpans(daemon, spans)).toBe(200);
    const round = await action(daemon, 'evaluate');
    expect(round.status).toBe(200);
    expect(round.body.result.errors).toEqual([]);
    firing = round.body.result.firing;
  });

  afterAll(() => daemon?.stop());

  const byRule = (ruleId: string) => firing.filter((f) => f.ruleId === ruleId);

  it('latency_avg: the mean duration in ms, with the slowest trace as the first example', () => {
    const [incident] = byRule('lat-avg');
    expect(incident.value).toBeCloseTo(1500, 6);
    expect(incident.threshold).toBe(1000);
    expect(incident.exampleTraceIds[0]).toBe(slowest.traceId);
    expect(incident.exampleTraceIds).toHaveLength(3);
  });

  it('latency_p95: per model group, only the slow model fires', () => {
    expect(byRule('lat-p95').map((f) => [f.group, f.value])).toEqual([[{ model: 'gpt-4o' }, 2000]]);
  });

  it('error_rate: the failing fraction, groups under min_spans are not judged', () => {
    const incidents = byRule('err-rate');
    expect(incidents.map((f) => [f.group, f.value])).toEqual([[{ workspace: 'acme' }, 0.5]]);
    expect([...incidents[0].exampleTraceIds].sort()).toEqual(failing.map((s) => s.traceId).sort());
  });

  it('cost_sum, tokens_sum, flagged_count and span_count (above and below)', () => {
    expect(byRule('cost')[0].value).toBeCloseTo(1.2, 9);
    expect(byRule('tokens')[0].value).toBe(1500);
    expect(byRule('flagged')[0].value).toBe(3);
    expect([...byRule('flagged')[0].exampleTraceIds].sort()).toEqual(flaggedSpans.map((s) => s.traceId).sort());
    expect(byRule('busy')[0].value).toBe(3);
    expect(byRule('silent')[0].value).toBe(2);
  });

  it('span_count below: a group that went silent shows up with a count of 0', () => {
    expect(byRule('gone').map((f) => [f.group, f.value])).toEqual([[{ model: 'retired-model' }, 0]]);
  });

  it('model globs and attribute groups', () => {
    // Without the model filter the mean would be (3000 + 5 * 100) / 6, under the threshold.
    expect(byRule('glob').map((f) => f.value)).toEqual([3000]);
    expect(byRule('tier').map((f) => [f.group, f.value])).toEqual([[{ 'attribute:customer.tier': 'gold' }, 3000]]);
  });

  it('stays quiet where nothing crosses, and outside the window', () => {
    expect(byRule('calm')).toEqual([]);
    expect(byRule('old')).toEqual([]);
  });

  it('stores one firing row per incident, queryable through the admin endpoint', async () => {
    const rows = await incidentRows(daemon, database);
    const row = (ruleId: string) => rows.find((r) => r.rule_id === ruleId) as IncidentRow;
    expect(rows.map((r) => r.rule_id).sort()).toEqual(['busy', 'cost', 'err-rate', 'flagged', 'glob', 'gone', 'lat-avg', 'lat-p95', 'silent', 'tier', 'tokens']);
    expect(row('lat-avg')).toMatchObject({
      incident_id: byRule('lat-avg')[0].incidentId,
      rule_name: 'Avg latency',
      severity: 'medium',
      status: 'firing',
      group: {},
      condition: 'avg latency over 5 min > 1000 ms',
      threshold: 1000,
      resolved_at: null,
    });
    expect(row('lat-avg').value).toBeCloseTo(1500, 6);
    expect(row('lat-avg').example_trace_ids[0]).toBe(slowest.traceId);
    expect(row('lat-p95')).toMatchObject({ group: { model: 'gpt-4o' }, group_key: '[["model","gpt-4o"]]', condition: 'p95 latency over 5 min > 1000 ms' });
  });
});
