import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  alertProcessorConfigSchema,
  PER_SPAN_CONDITION_TYPES,
  WINDOWED_CONDITION_TYPES,
  type AlertProcessorConfig,
  type WindowedCondition,
} from '../../../processors/alert/config';
import { thresholdOf } from '../../../processors/alert/conditions';
import { incidentsTableDdl } from '../../../processors/alert/incident-store';
import { windowQuery } from '../../../processors/alert/window-rules';

const readme = readFileSync(path.join(__dirname, '../../../processors/alert/README.md'), 'utf8');
const blocks = (lang: string) => [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

describe('the alert README', () => {
  const configs: AlertProcessorConfig[] = blocks('yaml').map((text, i) => {
    const doc = parse(text) as { processors?: { alert?: unknown } };
    const result = alertProcessorConfigSchema.safeParse(doc?.processors?.alert ?? {});
    if (!result.success) throw new Error(`yaml block ${i + 1} does not parse: ${JSON.stringify(result.error.issues)}`);
    return result.data;
  });

  it('has YAML examples that all parse with the schema', () => {
    expect(configs.length).toBeGreaterThanOrEqual(14);
  });

  it('shows every condition type and every target type in an example', () => {
    const conditions = new Set(configs.flatMap((c) => c.rules.map((r) => r.condition.type)));
    expect([...conditions].sort()).toEqual([...PER_SPAN_CONDITION_TYPES, ...WINDOWED_CONDITION_TYPES].sort());
    const targets = new Set(configs.flatMap((c) => Object.values(c.targets).map((t) => t.type)));
    expect([...targets].sort()).toEqual(['email', 'slack', 'webhook']);
    for (const type of [...PER_SPAN_CONDITION_TYPES, ...WINDOWED_CONDITION_TYPES]) expect(readme).toContain(`\`${type}\``);
  });

  it('prints the statement a windowed rule really runs', () => {
    const config = alertProcessorConfigSchema.parse({
      rules: [{ id: 'slow', name: 'Slow', condition: { type: 'latency_avg', threshold_ms: 2000, window_seconds: 300 }, group_by: ['model'] }],
    });
    const rule = config.rules[0];
    const sql = windowQuery(rule, rule.condition as WindowedCondition, thresholdOf(rule.condition), { database: 'default', spansTable: 'otel_traces' });
    const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();
    expect(blocks('sql').map(normalize)).toContain(normalize(sql));
  });

  it('prints the incidents table as it is created', () => {
    const ddl = incidentsTableDdl('default', 'tracehouse_incidents').replace(/`(default|tracehouse_incidents)`/g, '$1');
    const documented = blocks('sql').find((b) => b.includes('CREATE TABLE')) ?? '';
    const squash = (text: string) => text.replace(/--[^\n]*/g, '').replace(/\s+/g, '');
    expect(squash(documented)).toBe(squash(ddl));
  });
});
