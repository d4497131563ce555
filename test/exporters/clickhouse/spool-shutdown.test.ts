/**
 * SIGTERM while inserts run: the daemon (a process of its own, as `npm start` runs it) drains its
 * queue, every span it acknowledged is stored, and no spool file or directory outlives it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { buildDist, spawnDaemon } from '../../support/daemon-process';
import { waitFor } from '../../support/wait';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tracehouse-spool-sigterm-'));
const spool = path.join(work, 'spool');
const data = path.join(work, 'clickhouse');

beforeAll(() => {
  buildDist();
  fs.mkdirSync(spool);
}, 300_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function request(n: number): string {
  const spans = Array.from({ length: 50 }, (_, i) => ({
    traceId: n.toString(16).padStart(32, '0'),
    spanId: (n * 100 + i + 1).toString(16).padStart(16, '0'),
    name: 'chat',
    kind: 3,
    startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(n)),
    endTimeUnixNano: String(1_700_000_001_000_000_000n + BigInt(n)),
    attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } }],
  }));
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 't' }, spans }] }] });
}

test('SIGTERM mid-insert: acknowledged spans are stored and the spool is gone', async () => {
  const daemon = await spawnDaemon(`receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
exporters:
  clickhouse:
    path: ${data}
    spool_dir: ${spool}
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: info
  pipelines:
    traces: { receivers: [otlp], exporters: [clickhouse] }
`);
  let acknowledged = 0;
  let sent = 0;
  let stopping = false;
  const client = async () => {
    while (!stopping) {
      const n = ++sent;
      try {
        const res = await fetch(`${daemon.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(n) });
        if (res.status === 200) acknowledged += 50;
        await res.arrayBuffer();
      } catch {
        return; // the listener closed
      }
    }
  };
  const clients = Array.from({ length: 8 }, client);
  // Inserts are running through the spool once the daemon's directory exists and some were acknowledged.
  await waitFor('inserts through the spool', () => acknowledged >= 2000 && fs.readdirSync(spool).length === 1);
  await daemon.stop();
  stopping = true;
  await Promise.all(clients);
  expect(daemon.child.exitCode).toBe(0);
  expect(fs.readdirSync(spool)).toEqual([]);

  const connection = new EmbeddedConnection(data, 30_000);
  try {
    const stored = Number(await connection.select('SELECT count() FROM default.otel_traces', 'TabSeparatedRaw'));
    expect(stored).toBeGreaterThanOrEqual(acknowledged);
  } finally {
    await connection.close();
  }
}, 120_000);
