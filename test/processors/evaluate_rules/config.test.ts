import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { agentRunsConfigSchema } from '../../../processors/evaluate_rules/agent-runs';
import { callbacksConfigSchema } from '../../../processors/evaluate_rules/callbacks';
import { evaluateRulesProcessorFactory } from '../../../processors/evaluate_rules/factory';
import { judgeConfigSchema } from '../../../processors/evaluate_rules/judge-config';
import { RULE_TYPES } from '../../../processors/evaluate_rules/rule-types';
import { createRecorder, recordingRegistry } from '../../support/recording-components';

const registry = recordingRegistry(createRecorder(), { receivers: [], processors: [evaluateRulesProcessorFactory], exporters: [] });

function load(name: string, env: NodeJS.ProcessEnv = {}) {
  const text = readFileSync(path.join(__dirname, 'config', name), 'utf8');
  return loadConfigText(text, name, registry, { env });
}

const errors = (name: string) => load(name).diagnostics.map(formatDiagnostic);
const KNOWN = RULE_TYPES.map((t) => `"${t}"`).join(', ');

describe('evaluate_rules config', () => {
  it('has no rules by default, with the agent-run and callback defaults', () => {
    const { config, diagnostics } = load('defaults.yaml');
    expect(diagnostics).toEqual([]);
    expect(config?.processors.get('evaluate_rules')?.config).toEqual({
      rules: [],
      agent_runs: agentRunsConfigSchema.parse(undefined),
      callbacks: callbacksConfigSchema.parse(undefined),
      judge: judgeConfigSchema.parse(undefined),
    });
  });

  it('parses every rule type with its defaults (target output, severity medium, enabled, case-insensitive)', () => {
    const { config, diagnostics } = load('full.yaml', { CALLBACK_SECRET: 'callback-secret-0123' });
    expect(diagnostics).toEqual([]);
    const parsed = config?.processors.get('evaluate_rules/governance')?.config as Record<string, unknown>;
    const base = { severity: 'medium', enabled: true };
    expect(parsed.rules).toEqual([
      { id: 'tone', name: 'Tone Validator', type: 'keyword_forbidden', value: ['sorry', 'unfortunately'], scope: { project: 'support-replies', task: 'Tone Validator' }, severity: 'high', enabled: true, target: 'output', case_sensitive: false },
      { id: 'signature', type: 'keyword_required', value: 'Acme Support', case_sensitive: true, target: 'output', ...base },
      { id: 'card-in-prompt', type: 'regex_forbidden', value: '\\b4[0-9]{15}\\b', flags: '', target: 'input', ...base },
      { id: 'greeting', type: 'regex_required', value: '^(hi|hello)', flags: 'im', target: 'output', ...base },
      { id: 'too-short', type: 'min_length', value: 20, target: 'output', ...base },
      { id: 'too-long', type: 'max_length', value: 4000, target: { attribute: 'gen_ai.completion' }, ...base },
      { id: 'json', type: 'json_valid', scope: { workspace: 'acme' }, target: 'output', ...base },
      { id: 'ticket-schema', type: 'json_schema', value: { type: 'object', required: ['priority'], properties: { priority: { enum: ['low', 'high'] } } }, target: 'output', ...base },
      { id: 'unsure', type: 'confidence_threshold', value: 0.7, ...base },
      { id: 'slow', type: 'latency_threshold_ms', value: 5000, scope: { model: 'gpt-4o*' }, ...base },
      { id: 'pricey', type: 'cost_threshold_usd', value: 0.25, severity: 'critical', enabled: true },
      { id: 'pii', type: 'pii_detected', ...base },
      { id: 'cards', type: 'pii_detected', value: ['payment_card', 'iban'], ...base },
      { id: 'truncated', type: 'finish_reason_in', value: ['length', 'max_tokens'], ...base },
      { id: 'deprecated-models', type: 'model_in', value: ['gpt-3.5*', '*claude-2*'], severity: 'medium', enabled: false },
    ]);
    expect(parsed.agent_runs).toEqual({ ...agentRunsConfigSchema.parse(undefined), loop_threshold: 4 });
    expect(parsed.callbacks).toEqual({ ...callbacksConfigSchema.parse(undefined), signing_secret: 'callback-secret-0123', allow_private_addresses: true });
  });

  it('reports a duplicate rule id at the second rule, alongside the other problems', () => {
    expect(errors('duplicate-id.yaml')).toEqual([
      'duplicate-id.yaml:17:16 error processors.evaluate_rules.rules.3.value does not compile: Invalid regular expression: /(unclosed/: Unterminated group [CFG_INVALID_VALUE]',
      'duplicate-id.yaml:12:13 error processors.evaluate_rules.rules.2.id duplicate rule id "tone" (also rules.0.id) [CFG_DUPLICATE_ID]',
      'duplicate-id.yaml:15:13 error processors.evaluate_rules.rules.3.id duplicate rule id "short" (also rules.1.id) [CFG_DUPLICATE_ID]',
    ]);
  });

  it('compiles regular expressions at load time, reporting the pattern or the flags', () => {
    expect(errors('bad-regex.yaml')).toEqual([
      'bad-regex.yaml:8:16 error processors.evaluate_rules.rules.0.value does not compile: Invalid regular expression: /([a-z/: Unterminated character class [CFG_INVALID_VALUE]',
      'bad-regex.yaml:12:16 error processors.evaluate_rules.rules.1.flags must be some of i, m, s, u, each at most once [CFG_INVALID_VALUE]',
      // Rules run on the linear-time engine: what it cannot run is refused, named, at load time.
      'bad-regex.yaml:15:16 error processors.evaluate_rules.rules.2.value uses a lookbehind (?<=...), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
      'bad-regex.yaml:18:16 error processors.evaluate_rules.rules.3.value uses a backreference (\\1), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
      'bad-regex.yaml:21:16 error processors.evaluate_rules.rules.4.value uses a negative lookahead (?!...), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
    ]);
  });

  it('compiles JSON Schemas at load time (unknown keywords, invalid schemas, non-schemas)', () => {
    expect(errors('bad-schema.yaml')).toEqual([
      'bad-schema.yaml:8:9 error processors.evaluate_rules.rules.0.value is not a valid JSON Schema: strict mode: unknown keyword: "requird" [CFG_INVALID_VALUE]',
      'bad-schema.yaml:13:9 error processors.evaluate_rules.rules.1.value is not a valid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf [CFG_INVALID_VALUE]',
      'bad-schema.yaml:17:9 error processors.evaluate_rules.rules.2.value must be a JSON Schema (an object, or true/false) [CFG_INVALID_VALUE]',
      'bad-schema.yaml:20:9 error processors.evaluate_rules.rules.3.value is not a valid JSON Schema: uses a lookahead (?=...), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
    ]);
  });

  it('names the known rule types for an unknown or missing type', () => {
    expect(errors('unknown-type.yaml')).toEqual([
      `unknown-type.yaml:7:15 error processors.evaluate_rules.rules.0.type unknown rule type "llm_grader": expected one of ${KNOWN} [CFG_INVALID_VALUE]`,
      `unknown-type.yaml:9:9 error processors.evaluate_rules.rules.1.type missing rule type: expected one of ${KNOWN} [CFG_INVALID_VALUE]`,
    ]);
  });

  it('checks each type’s value and options', () => {
    expect(errors('bad-values.yaml')).toEqual([
      'bad-values.yaml:8:9 error processors.evaluate_rules.rules.0.value Too small: expected array to have >=1 items [CFG_OUT_OF_RANGE]',
      'bad-values.yaml:11:16 error processors.evaluate_rules.rules.1.value Too small: expected number to be >=0 [CFG_OUT_OF_RANGE]',
      'bad-values.yaml:15:9 error processors.evaluate_rules.rules.2 unknown key "case_sensitive" [CFG_UNKNOWN_KEY]',
      'bad-values.yaml:19:9 error processors.evaluate_rules.rules.3 unknown key "target" [CFG_UNKNOWN_KEY]',
      'bad-values.yaml:23:17 error processors.evaluate_rules.rules.4.target must be output, input or { attribute: <key> } [CFG_INVALID_VALUE]',
      'bad-values.yaml:26:19 error processors.evaluate_rules.rules.5.severity Invalid option: expected one of "low"|"medium"|"high"|"critical" [CFG_INVALID_VALUE]',
      'bad-values.yaml:27:9 error processors.evaluate_rules.rules.6 missing required key "value" [CFG_MISSING_KEY]',
      'bad-values.yaml:31:18 error processors.evaluate_rules.rules.7.scope unknown key "projects" [CFG_UNKNOWN_KEY]',
    ]);
  });
});
