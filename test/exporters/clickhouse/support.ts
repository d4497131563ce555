import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTraceStore } from '../../../core/component';
import type { Host, QueryBackend, TraceStore } from '../../../core/component';
import { ObjectCatalog } from '../../../core/control/catalog';
import { silentLogger, type Logger } from '../../../core/logger';
import { makeSpan, type Resource, type Span } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { WorkspaceDirectory } from '../../../core/workspaces';
import { clickhouseExporterConfigSchema } from '../../../exporters/clickhouse/config';
import { ClickhouseExporter, type ClickhouseExporterOptions } from '../../../exporters/clickhouse/exporter';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export class FakeHost implements Host {
  readonly backends = new Map<string, QueryBackend>();
  readonly workspaces = new WorkspaceDirectory();
  registerAdminAction(): void {}
  readonly objects = ObjectCatalog.detached(silentLogger());
  provide(): void {}
  capability(): undefined {
    return undefined;
  }
  acquireHttpListener(): never {
    throw new Error('not used by exporters');
  }
  registerQueryBackend(owner: string, backend: QueryBackend): void {
    this.backends.set(owner, backend);
  }
  store(owner = 'clickhouse'): TraceStore | undefined {
    const backend = this.backends.get(owner);
    return backend && isTraceStore(backend) ? backend : undefined;
  }
  backend(owner = 'clickhouse'): QueryBackend {
    const backend = this.backends.get(owner);
    if (!backend) throw new Error(`no query backend registered by ${owner}`);
    return backend;
  }
}

export interface Harness {
  exporter: ClickhouseExporter;
  host: FakeHost;
  telemetry: Telemetry;
  /** Runs a statement through the registered store's own reads (64-bit integers quoted, as in JSON). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  count(where?: string): Promise<number>;
}

export function createHarness(
  rawConfig: Record<string, unknown>,
  options: ClickhouseExporterOptions = {},
  id = 'clickhouse',
  logger: Logger = silentLogger(),
): Harness {
  const config = clickhouseExporterConfigSchema.parse(rawConfig);
  const telemetry = new Telemetry();
  const exporter = new ClickhouseExporter(
    config,
    { id, logger, telemetry: telemetry.forExporter(id) },
    options,
  );
  const host = new FakeHost();
  const rows = async <T>(sql: string): Promise<T[]> => {
    const store = host.store(id);
    if (!store) throw new Error(`no store registered by ${id}`);
    return store.selectRows<T>(`${sql} SETTINGS output_format_json_quote_64bit_integers = 1`);
  };
  return {
    exporter,
    host,
    telemetry,
    rows,
    count: async (where = '1') => {
      const [row] = await rows<{ n: string }>(`SELECT count() AS n FROM ${config.table} WHERE ${where}`);
      return Number(row.n);
    },
  };
}

/** Inserts attempted so far, from the exporter's own batch histogram. */
export async function insertCount(telemetry: Telemetry): Promise<number> {
  const text = await telemetry.metricsText();
  const match = /^tracehouse_exporter_batch_spans_count\{[^}]*\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

export const signal = (): AbortSignal => new AbortController().signal;

let sequence = 0;

/** Distinct, valid ids per call so tests never collide inside one shared table. */
export function genAiSpan(overrides: Partial<Span> = {}, resource?: Resource): Span {
  sequence += 1;
  const n = sequence.toString(16);
  return makeSpan({
    traceId: n.padStart(32, '0'),
    spanId: n.padStart(16, 'a'),
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(sequence) * 1_000_000n,
    endTimeUnixNano: 1_700_000_000_500_000_000n + BigInt(sequence) * 1_000_000n,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 120n,
      'gen_ai.usage.output_tokens': 30n,
    },
    resource: resource ?? {
      attributes: { 'service.name': 'support-bot' },
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    ...overrides,
  });
}

export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Exporters of one test file on one embedded data directory: `start` opens one per database,
 * `shutdown` stops them all (in afterAll).
 */
export function embeddedHarnesses(dataPath: string): {
  start(database: string, extra?: Record<string, unknown>): Promise<Harness>;
  shutdown(): Promise<void>;
} {
  const started: Harness[] = [];
  return {
    async start(database, extra = {}) {
      const harness = createHarness({ path: dataPath, database, ...extra });
      await harness.exporter.start(harness.host);
      started.push(harness);
      return harness;
    },
    async shutdown() {
      for (const harness of started.splice(0)) await harness.exporter.shutdown();
    },
  };
}
