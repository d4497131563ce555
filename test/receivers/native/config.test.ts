import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { nativeReceiverConfigSchema as schema } from '../../../receivers/native/config';
import { nativeReceiverFactory } from '../../../receivers/native/factory';

const read = (name: string) => fs.readFileSync(path.join(__dirname, 'config', name), 'utf8');

/** The one receiver config in a scenario file under ./config. */
function scenario(name: string): unknown {
  const doc = parse(read(name)) as { receivers: Record<string, unknown> };
  return Object.values(doc.receivers)[0];
}

function issues(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code, message: issue.message }));
}

const ALL_PATHS = [
  '/api/traces',
  '/api/ingest/tool-calls',
  '/api/ingest/feedback',
  '/api/integrations/openai-guardrails',
  '/api/integrations/otlp/v1/traces',
  '/api/integrations/openai-agents',
  '/v1/traces/ingest',
];

test('the factory is registered and declares what the registry needs', () => {
  expect(registry.receivers).toContain(nativeReceiverFactory);
  expect(nativeReceiverFactory).toMatchObject({ type: 'native', kind: 'receiver', stability: 'alpha' });
  expect(nativeReceiverFactory.configSchema).toBe(schema);
});

test('an empty config parses to the shared ingest listener behind the workspace keys', () => {
  expect(schema.parse(scenario('defaults.yaml'))).toEqual({
    listen: '127.0.0.1:8080',
    auth: 'workspaces',
    rate_limit: { limit: 600, window_seconds: 60, per_route: {} },
    idempotency: { ttl_seconds: 86400, max_entries: 100000, max_bytes: 16777216, max_answer_bytes: 1048576 },
    max_request_body_bytes: 10485760,
    max_inflight_bytes: 134217728,
  });
});

test('a fully specified config parses to exactly what it says', () => {
  expect(schema.parse(scenario('full.yaml'))).toEqual({
    listen: '0.0.0.0:8080',
    auth: 'workspaces',
    default_environment: 'production',
    rate_limit: { limit: 1200, window_seconds: 60, per_route: { '/api/ingest/feedback': { limit: 60, window_seconds: 60 } } },
    idempotency: { ttl_seconds: 3600, max_entries: 5000, max_bytes: 16777216, max_answer_bytes: 1048576 },
    max_request_body_bytes: 1048576,
    max_inflight_bytes: 67108864,
  });
});

test('it claims every route it serves, the OpenAI Agents ones included, on its listener', () => {
  const config = schema.parse(scenario('defaults.yaml'));
  expect(nativeReceiverFactory.claimedRoutes(config)).toEqual(ALL_PATHS.map((route) => ({ listen: '127.0.0.1:8080', route, configPath: 'listen', auth: 'workspaces' })));
});

test('an unknown key is rejected', () => {
  expect(issues(scenario('unknown-key.yaml'))).toEqual([{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "default_env"' }]);
});

test('bad values are rejected, every problem at once', () => {
  expect(issues(scenario('bad-values.yaml'))).toEqual([
    expect.objectContaining({ path: 'rate_limit', code: 'invalid_union' }),
    expect.objectContaining({ path: 'max_request_body_bytes', code: 'too_small' }),
    { path: 'default_environment', code: 'too_small', message: 'Too small: expected string to have >=1 characters' },
  ]);
});

test('in pipelines.yaml an unknown key is reported at its line with a stable code', () => {
  const { config, diagnostics } = loadConfigText(read('pipeline.yaml'), 'pipelines.yaml', registry, { env: {} });
  expect(config).toBeUndefined();
  expect(diagnostics.map(formatDiagnostic)).toEqual(['pipelines.yaml:5:5 error receivers.native unknown key "rate_limits" [CFG_UNKNOWN_KEY]']);
});
