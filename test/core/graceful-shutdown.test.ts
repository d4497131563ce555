/**
 * SIGTERM on a real daemon process: it stops accepting, answers the requests in flight only once
 * their spans are stored (including a batch still waiting in the exporter), and exits 0.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { encodeTraceRequestJson } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';

const root = path.join(__dirname, '..', '..');
const spans = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    makeSpan({
      traceId: `${prefix}${'0'.repeat(31)}`,
      spanId: `${prefix}${i.toString(16).padStart(15, '0')}`,
      name: `span ${prefix}${i}`,
      startTimeUnixNano: 1_763_900_000_000_000_000n,
      endTimeUnixNano: 1_763_900_001_000_000_000n,
    }),
  );

/** Collects the daemon's JSON log lines and lets a test wait for one. */
function watchLogs(child: ChildProcess): (msg: string) => Promise<Record<string, unknown>> {
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  return async (msg) => {
    for (;;) {
      const found = lines.find((l) => l.msg === msg);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
}

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 25));
}

describe('graceful shutdown', () => {
  let clickhouse: ClickhouseHttpServer;

  beforeAll(async () => {
    // The daemon runs from dist/, as `npm start` runs it.
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.js')], { cwd: root, stdio: 'inherit' });
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-sigterm-')) });
  }, 180_000);
  afterAll(() => clickhouse.close());

  it('on SIGTERM drains in-flight requests, flushes the waiting batch and exits 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-sigterm-cfg-'));
    const config = path.join(dir, 'pipelines.yaml');
    writeFileSync(
      config,
      `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
exporters:
  clickhouse:
    endpoint: ${clickhouse.url}
    database: sigterm
    timeout_ms: 600000
    max_spans: 100000
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], exporters: [clickhouse] }
`,
    );
    const daemon = spawn(process.execPath, [path.join(root, 'dist', 'bin', 'tracehouse.js'), 'run', '-c', config], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    const waitFor = watchLogs(daemon);
    const listener = await waitFor('http listener started');
    const admin = await waitFor('admin listener started');
    await waitFor('tracehouse started');
    const url = `http://${String(listener.listen)}/v1/traces`;
    const post = (body: string) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

    const release = clickhouse.holdInserts();
    const spanInserts = () => clickhouse.requests.filter((r) => /INSERT INTO .*otel_traces.* FORMAT Native/.test(r.query));
    // A: its insert reaches ClickHouse and is held there.
    const first = post(encodeTraceRequestJson(spans('a', 3)));
    await until(() => spanInserts().length === 1);
    // B: waits in the exporter's batch, since one insert is running and the batch is neither full nor due.
    const second = post(encodeTraceRequestJson(spans('b', 2)));
    await until(async () => {
      const metrics = await (await fetch(`http://${String(admin.listen)}/metrics`)).text();
      return /tracehouse_exporter_queue_spans\{exporter="clickhouse"\} 5/.test(metrics);
    });

    daemon.kill('SIGTERM');
    await waitFor('shutting down: draining in-flight requests and flushing exporters');
    // Intake is closed while the old requests are still pending: a new connection is refused (or,
    // had it reused a kept-alive socket, answered 503).
    const late = await post(encodeTraceRequestJson(spans('c', 1))).then((r) => r.status, () => 'refused');
    expect(['refused', 503]).toContain(late);
    release();

    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(await exited).toBe(0);
    expect(spanInserts()).toHaveLength(2);
    const stored = await clickhouse.sql("SELECT SpanName FROM sigterm.otel_traces ORDER BY SpanName", 'TabSeparated');
    expect(stored.trim().split('\n')).toEqual(['span a0', 'span a1', 'span a2', 'span b0', 'span b1']);
  });
});
