import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../components';
import type { AnyFactory, Component, Host, SpanConsumer } from '../core/component';
import { WorkspaceDirectory } from '../core/workspaces';
import { HttpHost } from '../core/http-host';
import { ObjectCatalog } from '../core/control/catalog';
import { silentLogger } from '../core/logger';
import { Telemetry } from '../core/telemetry';
import { processDataDir } from './support/daemon';

const root = path.join(__dirname, '..');
const factories: AnyFactory[] = [...registry.receivers, ...registry.processors, ...registry.exporters, ...(registry.extensions ?? [])];
const folderOf = (f: AnyFactory) => path.join(root, `${f.kind}s`, f.type);

/** Rewrites addresses and data paths in a config so instances can start side by side in tests. */
function forTest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(forTest);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'listen' && typeof v === 'string') out[k] = '127.0.0.1:0';
    else if (k === 'path' && typeof v === 'string') out[k] = processDataDir;
    else out[k] = forTest(v);
  }
  return out;
}

function create(f: AnyFactory): Component {
  const config = f.configSchema.parse(forTest(f.configSchema.parse({})));
  const telemetry = new Telemetry();
  const settings = { id: f.type, logger: silentLogger() };
  const next: SpanConsumer = { consume: async () => {} };
  switch (f.kind) {
    case 'receiver':
      return f.createReceiver(config, { ...settings, telemetry: telemetry.forReceiver(f.type) }, next);
    case 'processor':
      return f.createProcessor(config, { ...settings, telemetry: telemetry.forProcessor(f.type) }, next);
    case 'exporter':
      return f.createExporter(config, { ...settings, telemetry: telemetry.forExporter(f.type) });
    case 'extension':
      return f.createExtension(config, { ...settings, telemetry: telemetry.forReceiver(f.type) });
  }
}

describe.each(factories.map((f) => [`${f.kind} ${f.type}`, f] as const))('%s follows the component contract', (_name, factory) => {
  it('lives in a folder named after its type, exported from factory.ts', () => {
    const file = path.join(folderOf(factory), 'factory.ts');
    expect(existsSync(file)).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = Object.values(require(file) as Record<string, unknown>);
    expect(exported).toContain(factory);
    expect(factory.summary.length).toBeGreaterThan(10);
  });

  it('documents itself with a README whose YAML example parses with its schema', () => {
    const readme = readFileSync(path.join(folderOf(factory), 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as Record<string, Record<string, unknown>>);
    const examples = blocks.flatMap((doc) =>
      Object.entries(doc?.[`${factory.kind}s`] ?? {}).filter(([id]) => id.split('/')[0] === factory.type),
    );
    expect(examples.length).toBeGreaterThan(0);
    for (const [, config] of examples) {
      const result = factory.configSchema.safeParse(config ?? {});
      expect(result.error?.issues ?? []).toEqual([]);
    }
  });

  it('starts, shuts down twice, and shuts down without start', async () => {
    const httpHost = new HttpHost(silentLogger());
    const host: Host = {
      acquireHttpListener: (listen, owner) => httpHost.acquire(listen, owner),
      registerQueryBackend: () => {},
      workspaces: new WorkspaceDirectory({ dev: { api_keys: ['contract-test-key-0000'], webhook_signing_secrets: [] } }),
      store: () => undefined,
      registerAdminAction: () => {},
      objects: ObjectCatalog.detached(silentLogger()),
      provide: () => {},
      capability: () => undefined,
    };
    const component = create(factory);
    await component.start(host);
    await component.shutdown();
    await component.shutdown();
    const never = create(factory);
    await never.shutdown();
    await never.shutdown();
  });
});
