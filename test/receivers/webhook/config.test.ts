import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { webhookReceiverConfigSchema as schema } from '../../../receivers/webhook/config';
import { webhookReceiverFactory } from '../../../receivers/webhook/factory';

const read = (name: string) => fs.readFileSync(path.join(__dirname, 'config', name), 'utf8');

/** The one receiver config in a scenario file under ./config. */
function scenario(name: string): unknown {
  const doc = parse(read(name)) as { receivers: Record<string, unknown> };
  return Object.values(doc.receivers)[0] ?? {};
}

function issues(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code, message: issue.message }));
}

test('the factory is registered and declares what the registry needs', () => {
  expect(registry.receivers).toContain(webhookReceiverFactory);
  expect(webhookReceiverFactory).toMatchObject({ type: 'webhook', kind: 'receiver', stability: 'alpha' });
  expect(webhookReceiverFactory.configSchema).toBe(schema);
});

test('an empty config parses to the shared ingest listener, 600 requests a minute and a 5 minute tolerance', () => {
  expect(schema.parse(scenario('defaults.yaml'))).toEqual({
    listen: '127.0.0.1:8080',
    auth: 'workspaces',
    rate_limit: { limit: 600, window_seconds: 60, per_route: {} },
    idempotency: { ttl_seconds: 86400, max_entries: 100000, max_bytes: 16777216, max_answer_bytes: 1048576 },
    max_request_body_bytes: 10485760,
    max_inflight_bytes: 134217728,
    signature_tolerance_seconds: 300,
    replay_cache_max_entries: 100000,
  });
});

test('a fully specified config parses to exactly what it says', () => {
  expect(schema.parse(scenario('full.yaml'))).toEqual({
    listen: '0.0.0.0:8080',
    auth: 'workspaces',
    rate_limit: { limit: 120, window_seconds: 60, per_route: {} },
    idempotency: { ttl_seconds: 3600, max_entries: 5000, max_bytes: 16777216, max_answer_bytes: 1048576 },
    max_request_body_bytes: 1048576,
    max_inflight_bytes: 67108864,
    signature_tolerance_seconds: 120,
    replay_cache_max_entries: 20000,
  });
});

test('it claims its one route on its listener', () => {
  expect(webhookReceiverFactory.claimedRoutes(schema.parse(scenario('defaults.yaml')))).toEqual([
    { listen: '127.0.0.1:8080', route: '/api/ingest/webhooks', configPath: 'listen', auth: 'workspaces' },
  ]);
});

test('bad values are rejected, every problem at once', () => {
  expect(issues(scenario('bad-values.yaml'))).toEqual([
    { path: 'signature_tolerance_seconds', code: 'too_small', message: 'Too small: expected number to be >0' },
    { path: 'replay_cache_max_entries', code: 'invalid_type', message: 'Invalid input: expected int, received number' },
  ]);
  expect(issues(scenario('too-tolerant.yaml'))).toEqual([
    { path: 'signature_tolerance_seconds', code: 'too_big', message: 'Too big: expected number to be <=86400' },
  ]);
});

test('in pipelines.yaml signing secrets under the receiver are an unknown key, reported at its line', () => {
  const { config, diagnostics } = loadConfigText(read('pipeline.yaml'), 'pipelines.yaml', registry, { env: {} });
  expect(config).toBeUndefined();
  expect(diagnostics.map(formatDiagnostic)).toEqual(['pipelines.yaml:5:5 error receivers.webhook unknown key "signing_secrets" [CFG_UNKNOWN_KEY]']);
});
