/**
 * The admin listener's read-only ClickHouse HTTP interface over the embedded store, exercised with
 * curl-style requests, the real @clickhouse/client, and `tracehouse query`.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { registry } from '../../components';
import { runCli } from '../../core/cli';
import { encodeTraceRequestJson } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { otlpPipelineYaml, startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';

const KEY = 'admin-key-0123456789abcdef';
const yaml = (database: string) => otlpPipelineYaml({ database, admin: ['auth: { api_keys: ["${env:ADMIN_KEY}"] }'] });

describe('admin query endpoint', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('admin');
  const auth = { authorization: `Bearer ${KEY}` };
  const query = (params: Record<string, string>, init: RequestInit = {}) => {
    const url = new URL(daemon.adminUrl);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
  };

  beforeAll(async () => {
    daemon = await startDaemon(yaml(database), { env: { ADMIN_KEY: KEY } });
    const spans = Array.from({ length: 7 }, (_, i) =>
      makeSpan({
        traceId: 'c0ffee00000000000000000000000001',
        spanId: (i + 1).toString(16).padStart(16, '0'),
        name: 'chat',
        startTimeUnixNano: 1_763_900_000_000_000_000n,
        endTimeUnixNano: 1_763_900_000_100_000_000n,
      }),
    );
    const body = encodeTraceRequestJson(spans);
    const post = () => fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post()).status).toBe(200);
    // A client retry delivers the same spans again; results must not double.
    expect((await post()).status).toBe(200);
  });
  afterAll(() => daemon.stop());

  it('answers SELECT count() FROM otel_traces in JSON, deduplicated', async () => {
    const res = await query({ query: 'SELECT count() AS n FROM otel_traces FORMAT JSON', database });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-clickhouse-format')).toBe('JSON');
    const json = (await res.json()) as { data: { n: string | number }[] };
    expect(Number(json.data[0].n)).toBe(7);
  });

  it('takes the query from the POST body and honours default_format', async () => {
    const res = await query({ database, default_format: 'JSONEachRow' }, { method: 'POST', body: 'SELECT uniqExact(SpanId) AS spans FROM otel_traces' });
    expect(res.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(Number((JSON.parse(text) as { spans: string | number }).spans)).toBe(7);
  });

  it('refuses DROP TABLE and INSERT with a ClickHouse READONLY error, and the data stays', async () => {
    for (const sql of ['DROP TABLE otel_traces', "INSERT INTO otel_traces (TraceId) VALUES ('x')"]) {
      const res = await query({ database }, { method: 'POST', body: sql });
      expect(res.status).toBe(403);
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('164');
      expect(await res.text()).toMatch(/^Code: 164\. DB::Exception: Tracehouse query endpoint is read-only: .*\(READONLY\)\n$/);
    }
    const res = await query({ query: 'SELECT count() FROM otel_traces', database });
    expect((await res.text()).trim()).toBe('7');
  });

  it('passes query errors through as ClickHouse errors', async () => {
    const res = await query({ query: 'SELECT nope FROM otel_traces', database });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Code: 47\. DB::Exception: .*nope/);
  });

  it('requires the API key', async () => {
    const res = await fetch(`${daemon.adminUrl}/?query=SELECT+1`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/AUTHENTICATION_FAILED/);
    // Health stays open for probes.
    expect((await fetch(`${daemon.adminUrl}/healthz`)).status).toBe(200);
  });

  it('serves the official @clickhouse/client, with the API key as its password', async () => {
    const client = createClient({ url: daemon.adminUrl, password: KEY, database, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const result = await client.query({ query: 'SELECT SpanName, count() AS n FROM otel_traces GROUP BY SpanName', format: 'JSONEachRow' });
      const rows = (await result.json()) as { SpanName: string; n: string | number }[];
      expect(rows.map((r) => [r.SpanName, Number(r.n)])).toEqual([['chat', 7]]);
      await expect(client.command({ query: 'DROP TABLE otel_traces' })).rejects.toThrow(/read-only/);
    } finally {
      await client.close();
    }
  });

  it('is what `tracehouse query` talks to', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) };
    const args = ['query', '--endpoint', daemon.adminUrl, '--api-key', KEY, '--database', database, '--format', 'TSV'];
    expect(await runCli([...args, 'SELECT count() FROM otel_traces'], registry, io)).toBe(0);
    expect(out.join('')).toBe('7\n');
    expect(await runCli([...args, 'DROP TABLE otel_traces'], registry, io)).toBe(1);
    expect(err.join('')).toMatch(/READONLY/);
  });
});
