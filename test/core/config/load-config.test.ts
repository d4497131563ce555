import path from 'node:path';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigFile } from '../../../core/config/load-config';

const scenario = (name: string) => path.join(__dirname, 'scenarios', `${name}.yaml`);
const load = (name: string, env: NodeJS.ProcessEnv = {}, pipelines?: string[]) =>
  loadConfigFile(scenario(name), registry, { env, pipelines });
/** Diagnostics reduced to what the contract promises: line, severity, path and code. */
const brief = (name: string, env: NodeJS.ProcessEnv = {}) =>
  load(name, env).diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.path} [${d.code}]`);

describe('config loading', () => {
  it('parses a minimal config with every default applied', () => {
    const { config, diagnostics } = load('valid-minimal');
    expect(diagnostics).toEqual([]);
    expect(config?.receivers.get('otlp')?.config).toEqual({
      default_workspace: 'default',
      http: { enabled: true, listen: '127.0.0.1:4318', traces_path: '/v1/traces', max_request_body_bytes: 20 * 1024 * 1024 },
      grpc: { enabled: true, listen: '127.0.0.1:4317', max_recv_msg_size_bytes: 20 * 1024 * 1024 },
      max_inflight_bytes: 128 * 1024 * 1024,
    });
    expect(config?.exporters.get('debug')?.config).toEqual({ verbosity: 'normal' });
    expect(config?.service).toEqual({
      pipelines: { traces: { receivers: ['otlp'], processors: [], exporters: ['debug'] } },
      admin: {
        listen: '127.0.0.1:8888',
        query_timeout_ms: 30000,
        query_limits: { max_memory_bytes: 1024 ** 3, max_rows_to_read: 1_000_000_000, max_result_bytes: 64 * 1024 ** 2, max_threads: 1, max_concurrent_queries: 2 },
      },
      extensions: [],
      control_plane: { refresh_interval_ms: 2000 },
      shutdown_timeout_ms: 30000,
      log_level: 'info',
    });
  });

  it('reports an unknown key at the key with file:line:col and the dotted path', () => {
    const { diagnostics } = load('unknown-key');
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'unknown-key.yaml:5:7 error receivers.otlp.http unknown key "max_body" [CFG_UNKNOWN_KEY]',
    ]);
  });

  it('lists the known types for an unknown component type', () => {
    const { diagnostics } = load('unknown-type');
    // One mistake, one line: the pipeline's reference to the declared-but-unknown receiver is not repeated.
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ line: 3, col: 3, path: 'receivers', code: 'CFG_UNKNOWN_TYPE' });
    expect(diagnostics[0].message).toBe(`unknown receiver type "zipkin" (known: ${registry.receivers.map((f) => f.type).join(', ')})`);
  });

  it('reports every reference to an unconfigured component at its list item', () => {
    expect(brief('undefined-component')).toEqual([
      '9:20 error service.pipelines.traces.processors.0 [CFG_UNDEFINED_COMPONENT]',
      '12:11 error service.pipelines.traces.exporters.1 [CFG_UNDEFINED_COMPONENT]',
    ]);
  });

  it('rejects pipelines without receivers or exporters', () => {
    expect(brief('empty-pipeline')).toEqual([
      '7:5 error service.pipelines.traces/a [CFG_NO_RECEIVERS]',
      '10:5 error service.pipelines.traces/b [CFG_NO_EXPORTERS]',
    ]);
  });

  it('rejects two receivers claiming the same address and route, even spelled differently', () => {
    const { diagnostics } = load('route-conflict');
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'route-conflict.yaml:8:15 error receivers.otlp/second.http.listen route /v1/traces on localhost:4318 is already served by receiver "otlp" (http.listen) [CFG_ROUTE_CONFLICT]',
    ]);
  });

  it('lets receivers share an address when their routes differ', () => {
    const { config, diagnostics } = load('shared-port');
    expect(diagnostics).toEqual([]);
    expect([...(config?.receivers.keys() ?? [])]).toEqual(['otlp', 'otlp/legacy']);
  });

  it('rejects a wildcard and a specific address on the same port', () => {
    expect(brief('wildcard-conflict')).toEqual(['9:15 error receivers.otlp/local.http.listen [CFG_LISTEN_CONFLICT]']);
  });

  it('lets a gRPC listener claim its whole address', () => {
    expect(load('grpc-conflict').diagnostics.map(formatDiagnostic)).toEqual([
      'grpc-conflict.yaml:8:15 error receivers.otlp/http.http.listen 127.0.0.1:4317 is already served by receiver "otlp" (grpc.listen) [CFG_ROUTE_CONFLICT]',
    ]);
  });

  it('substitutes ${env:NAME} and ${env:NAME:-default}, keeping YAML types', () => {
    const { config, diagnostics } = load('env-substitution', { OTLP_LISTEN: '127.0.0.1:14318', PATH_PREFIX: 'otel' });
    expect(diagnostics).toEqual([]);
    expect(config?.receivers.get('otlp')?.config).toMatchObject({
      http: { enabled: true, listen: '127.0.0.1:14318', traces_path: '/otel/v1/traces', max_request_body_bytes: 1048576 },
    });
  });

  it('reports an unset environment variable without a default', () => {
    const { diagnostics } = load('env-unset');
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'env-unset.yaml:4:18 error receivers.otlp.auth.api_keys.0 environment variable TRACEHOUSE_TEST_UNSET_KEY is not set and has no default (use ${env:TRACEHOUSE_TEST_UNSET_KEY:-default}) [CFG_ENV_UNSET]',
    ]);
  });

  it('refuses non-loopback listeners without auth', () => {
    expect(brief('auth-required')).toEqual([
      '9:13 error service.admin.listen [CFG_AUTH_REQUIRED]',
      '4:15 error receivers.otlp.http.listen [CFG_AUTH_REQUIRED]',
    ]);
  });

  it('accepts non-loopback listeners with explicit auth: none or API keys from the environment', () => {
    const { config, diagnostics } = load('auth-explicit', { ADMIN_KEY: 'k'.repeat(32) });
    expect(diagnostics).toEqual([]);
    expect(config?.service.admin.auth).toEqual({ api_keys: ['k'.repeat(32)] });
    expect(config?.receivers.get('otlp')?.config).toMatchObject({ auth: 'none' });
  });

  it('reports every invalid value at once, each at its own line', () => {
    expect(brief('invalid-values')).toEqual([
      '4:15 error receivers.otlp.http.listen [CFG_INVALID_VALUE]',
      '5:31 error receivers.otlp.http.max_request_body_bytes [CFG_INVALID_TYPE]',
      '8:16 error exporters.debug.verbosity [CFG_INVALID_VALUE]',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const { diagnostics, config } = load('syntax-error');
    expect(config).toBeUndefined();
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics[0]).toMatchObject({ code: 'CFG_YAML_SYNTAX', severity: 'error' });
    expect(diagnostics[0].line).toBeGreaterThanOrEqual(3);
  });

  it('rejects malformed component ids, unknown signals and unknown service keys', () => {
    expect(brief('bad-ids')).toEqual([
      '2:3 error receivers [CFG_BAD_ID]',
      '11:3 error service [CFG_UNKNOWN_KEY]',
    ]);
    // service.pipelines is only checked once service parses; fix the unknown key and the signal shows.
  });

  it('warns about configured components no pipeline uses, without failing', () => {
    const { config, diagnostics } = load('unused-component');
    expect(config).toBeDefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'unused-component.yaml:5:3 warning exporters.debug/verbose exporter "debug/verbose" is configured but not used by any pipeline [CFG_UNUSED_COMPONENT]',
    ]);
  });

  it('requires a service section', () => {
    expect(brief('missing-service')).toEqual(['1:1 error  [CFG_MISSING_KEY]']);
  });

  it('selects pipelines by name and reports unknown ones', () => {
    expect(load('valid-minimal', {}, ['traces']).config).toBeDefined();
    const { diagnostics } = load('valid-minimal', {}, ['traces/store']);
    expect(diagnostics.map((d) => d.code)).toEqual(['CFG_UNKNOWN_PIPELINE']);
  });

  it('rejects a component listed twice in one pipeline', () => {
    expect(brief('duplicate-reference')).toEqual(['8:25 error service.pipelines.traces.receivers.1 [CFG_DUPLICATE_REFERENCE]']);
  });

  it('rejects a config without pipelines', () => {
    expect(brief('no-pipelines')).toEqual([
      '6:3 error service.pipelines [CFG_NO_PIPELINES]',
      '2:3 warning receivers.otlp [CFG_UNUSED_COMPONENT]',
      '4:3 warning exporters.debug [CFG_UNUSED_COMPONENT]',
    ]);
  });

  it('rejects a key given twice', () => {
    expect(brief('duplicate-key')).toEqual(['5:3 error  [CFG_DUPLICATE_KEY]']);
  });

  it('reports out-of-range numbers in every section', () => {
    expect(brief('out-of-range')).toEqual([
      '4:31 error receivers.otlp.http.max_request_body_bytes [CFG_OUT_OF_RANGE]',
      '8:16 error exporters.clickhouse.max_spans [CFG_OUT_OF_RANGE]',
      '10:24 error service.shutdown_timeout_ms [CFG_OUT_OF_RANGE]',
    ]);
  });

  it('ships a default pipelines.yaml and a server example that validate', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const defaults = loadConfigFile(path.join(root, 'pipelines.yaml'), registry, { env: {} });
    // The development key `dev-key` is the only remark, and it goes once TRACEHOUSE_API_KEY is set.
    expect(defaults.diagnostics.map((d) => `${d.severity} ${d.path} [${d.code}]`)).toEqual(['warning workspaces.dev.api_keys.0 [CFG_WEAK_KEY]']);
    expect(loadConfigFile(path.join(root, 'pipelines.yaml'), registry, { env: { TRACEHOUSE_API_KEY: 'th_live_0123456789abcdef' } }).diagnostics).toEqual([]);
    expect(defaults.config?.workspaces).toEqual({ dev: { api_keys: ['dev-key'], webhook_signing_secrets: [] } });
    for (const id of ['native', 'logs', 'jsonapi', 'webhook', 'events', 'proxy']) {
      expect(defaults.config?.receivers.get(id)?.config).toMatchObject({ listen: '127.0.0.1:8080', auth: 'workspaces' });
    }
    expect(defaults.config?.service.pipelines.traces.receivers).toEqual(['otlp', 'native', 'logs', 'jsonapi', 'webhook', 'events', 'proxy']);
    expect(defaults.config?.receivers.get('proxy')?.config).toMatchObject({
      upstreams: { openai: { provider: 'openai', base_url: 'https://api.openai.com', api_key: '' }, anthropic: { provider: 'anthropic', base_url: 'https://api.anthropic.com', api_key: '' } },
    });
    expect(defaults.config?.exporters.get('clickhouse')?.config).toMatchObject({ path: './data/clickhouse', database: 'default' });
    expect(defaults.config?.receivers.get('otlp')?.config).toMatchObject({ http: { listen: '127.0.0.1:4318' } });
    const server = loadConfigFile(path.join(root, 'examples', 'clickhouse-server.yaml'), registry, {
      env: { TRACEHOUSE_ADMIN_API_KEY: 'k'.repeat(24) },
    });
    expect(server.diagnostics).toEqual([]);
    expect(server.config?.exporters.get('clickhouse')?.config).toMatchObject({ endpoint: 'http://clickhouse:8123', password: '', ttl_days: 30 });
  });

  it('reports an unreadable file as a diagnostic, not an exception', () => {
    const { diagnostics } = loadConfigFile('/nonexistent/pipelines.yaml', registry);
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'CFG_READ', message: 'cannot read config file (ENOENT)' }),
    ]);
  });

  describe('workspaces', () => {
    it('parses workspaces with plain, env-supplied, hashed and receiver-restricted keys', () => {
      const { config, diagnostics } = load('workspaces-valid', { ACME_KEY: 'th_acme_0123456789abcdef', OTLP_ONLY_KEY: 'th_otlp_0123456789abcdef' });
      expect(diagnostics).toEqual([]);
      expect(config?.workspaces).toEqual({
        acme: {
          api_keys: [
            'th_acme_0123456789abcdef',
            { sha256: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' },
            { key: 'th_otlp_0123456789abcdef', receivers: ['otlp'] },
          ],
          webhook_signing_secrets: ['whsec_one', 'whsec_two'],
        },
      });
      // auth: workspaces counts as auth for a non-loopback listener.
      expect(config?.receivers.get('events')?.config).toMatchObject({ listen: '0.0.0.0:8080', auth: 'workspaces' });
    });

    it('refuses a receiver on workspace auth when no workspace is configured', () => {
      expect(brief('workspaces-missing')).toEqual(['2:3 error receivers.events [CFG_NO_WORKSPACES]']);
    });

    it('reports weak keys, unknown receivers, ambiguous key entries and bad workspace ids at once', () => {
      expect(brief('workspaces-invalid')).toEqual([
        '7:9 warning workspaces.dev.api_keys.0 [CFG_WEAK_KEY]',
        '12:9 error workspaces.broken.api_keys.0 [CFG_INVALID_VALUE]',
        '14:3 error workspaces [CFG_BAD_ID]',
        '9:21 error workspaces.dev.api_keys.1.receivers.0 [CFG_UNDEFINED_COMPONENT]',
      ]);
    });
  });
});
