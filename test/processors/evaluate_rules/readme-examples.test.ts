import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { evaluateRulesProcessorFactory } from '../../../processors/evaluate_rules/factory';
import { RULE_TYPES } from '../../../processors/evaluate_rules/rule-types';

const readme = readFileSync(path.join(__dirname, '../../../processors/evaluate_rules/README.md'), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

/** The evaluate_rules configs of one YAML block (`processors.evaluate_rules` or `evaluate_rules/<name>`). */
function examplesOf(block: string): unknown[] {
  const doc = parse(block, { prettyErrors: true }) as { processors?: Record<string, unknown> } | null;
  return Object.entries(doc?.processors ?? {})
    .filter(([id]) => id.split('/')[0] === 'evaluate_rules')
    .map(([, config]) => config ?? {});
}

describe('evaluate_rules README', () => {
  it('has YAML examples', () => {
    expect(blocks.length).toBeGreaterThan(RULE_TYPES.length);
  });

  it.each(blocks.map((block, i) => [i + 1, block] as const))('example %i parses with the processor schema', (_n, block) => {
    const examples = examplesOf(block);
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      // The same environment substitution the loader does, for ${env:...} secrets.
      const config = JSON.parse(JSON.stringify(example).replace(/\$\{env:[A-Z_]+\}/g, 'example-secret-0123456789'));
      const result = evaluateRulesProcessorFactory.configSchema.safeParse(config);
      expect(result.error?.issues ?? []).toEqual([]);
    }
  });

  it('shows every rule type in an example, each under its own heading', () => {
    const shown = new Set<string>();
    for (const block of blocks) {
      for (const example of examplesOf(block)) {
        const parsed = evaluateRulesProcessorFactory.configSchema.parse(JSON.parse(JSON.stringify(example).replace(/\$\{env:[A-Z_]+\}/g, 'example-secret-0123456789')));
        for (const rule of parsed.rules) shown.add(rule.type);
      }
    }
    expect([...RULE_TYPES].filter((t) => !shown.has(t))).toEqual([]);
    for (const type of RULE_TYPES) expect(readme).toContain(`### \`${type}\``);
  });
});
