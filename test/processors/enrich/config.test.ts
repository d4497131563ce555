import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { enrichProcessorConfigSchema as schema } from '../../../processors/enrich/config';
import { enrichProcessorFactory } from '../../../processors/enrich/factory';

const read = (name: string) => fs.readFileSync(path.join(__dirname, 'config', name), 'utf8');

/** The one processor config in a scenario file under ./config. */
function scenario(name: string): unknown {
  const doc = parse(read(name)) as { processors: Record<string, unknown> };
  return Object.values(doc.processors)[0];
}

function issues(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code, message: issue.message }));
}

test('the factory declares what the registry needs', () => {
  expect(enrichProcessorFactory).toMatchObject({ type: 'enrich', kind: 'processor', stability: 'beta' });
  expect(enrichProcessorFactory.configSchema).toBe(schema);
  expect(enrichProcessorFactory.summary.length).toBeGreaterThan(10);
});

test('an empty config parses to catalog pricing and nothing else', () => {
  expect(schema.parse(scenario('defaults.yaml'))).toEqual({ catalog: true, price_overrides: [] });
});

test('a fully specified config parses to exactly what it says', () => {
  expect(schema.parse(scenario('full.yaml'))).toEqual({
    workspace: 'acme',
    project: 'support-bot',
    environment: 'production',
    catalog: false,
    price_overrides: [
      { model: 'gpt-4o', input_per_mtok: 2, output_per_mtok: 8, cached_input_per_mtok: 1 },
      { model: 'claude-.*', workspace: 'acme', input_per_mtok: 2.5, output_per_mtok: 12.5 },
      { model: 'llama-3\\.3-70b.*', workspace: 'acme', project: 'search', input_per_mtok: 0.2, output_per_mtok: 0.2 },
    ],
  });
});

test('an unknown key is rejected', () => {
  expect(issues(scenario('unknown-key.yaml'))).toEqual([
    { path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "price_override"' },
  ]);
});

test('bad overrides are rejected, every problem at once', () => {
  expect(issues(scenario('bad-override.yaml'))).toEqual([
    { path: 'price_overrides.0.model', code: 'custom', message: 'model is not a valid regular expression' },
    { path: 'price_overrides.0.output_per_mtok', code: 'too_small', message: 'Too small: expected number to be >=0' },
    { path: 'price_overrides.1', code: 'unrecognized_keys', message: 'Unrecognized key: "cached"' },
    { path: 'price_overrides.1.project', code: 'custom', message: 'project needs workspace (a project is named within a workspace)' },
  ]);
});

test('in pipelines.yaml an unknown override key is reported at its line with a stable code', () => {
  const withEnrich = { ...registry, processors: [...registry.processors, enrichProcessorFactory] };
  const { config, diagnostics } = loadConfigText(read('pipeline.yaml'), 'pipelines.yaml', withEnrich, { env: {} });
  expect(config).toBeUndefined();
  expect(diagnostics.map(formatDiagnostic)).toEqual([
    'pipelines.yaml:9:91 error processors.enrich.price_overrides.0 unknown key "rate" [CFG_UNKNOWN_KEY]',
  ]);
});
