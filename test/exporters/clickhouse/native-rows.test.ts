/**
 * Native blocks (the insert path: calls encoded on arrival, joined into one block per insert) and
 * JSONEachRow lines store identical rows, for every kind of value a span can carry, on the embedded
 * engine (through the spool, and inline when the spool cannot be written) and on a server (the HTTP
 * double); and the embedded spool files never outlive their insert.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { makeSpan, type Span } from '../../../core/span';
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { encodeNativeBlock, encodeNativeColumns, joinNativeBlock, nativeBlock } from '../../../exporters/clickhouse/native';
import { encodeSpans } from '../../../exporters/clickhouse/rows';
import { Spool } from '../../../exporters/clickhouse/spool';
import { ServerConnection } from '../../../exporters/clickhouse/server-connection';
import { silentLogger } from '../../../core/logger';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { createHarness, insertCount, settle, signal, tempDir, type Harness } from './support';

const dataPath = tempDir('tracehouse-ch-native-');
const started: Harness[] = [];
let server: ClickhouseHttpServer;

beforeAll(async () => {
  // The engine holds one data directory per process: the server double serves the same one.
  server = await ClickhouseHttpServer.start({ path: dataPath, user: 'default', password: '' });
});

afterAll(async () => {
  for (const h of started) await h.exporter.shutdown();
  await server.close();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

async function start(config: Record<string, unknown>, logger = silentLogger()): Promise<Harness> {
  const h = createHarness({ retry: { initial_interval_ms: 10, max_interval_ms: 20, max_elapsed_ms: 0 }, ...config }, {}, 'clickhouse', logger);
  await h.exporter.start(h.host);
  started.push(h);
  return h;
}

const T0 = 1_700_000_000_000_000_000n;
const resource = { attributes: { 'service.name': 'svc ✓', 'deployment.environment': 'prod' }, droppedAttributesCount: 0, schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' };
const scope = { name: 'scope\nname', version: '1.0', attributes: { 'scope.attr': 7n }, droppedAttributesCount: 0 };

/** Spans covering every AnyValue kind, Unicode edge cases, newline bytes, maps of every size. */
function hostileSpans(): Span[] {
  const big: Record<string, string> = {};
  for (let i = 0; i < 1500; i++) big[`k${i}`] = 'v'.repeat(i % 200);
  const spans: Span[] = [
    makeSpan({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      name: 'chat gpt-4o',
      kind: 'client',
      startTimeUnixNano: T0,
      endTimeUnixNano: T0 + 1_500_000_000n,
      status: { code: 'error', message: 'boom\n\nafter a blank line' },
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.usage.input_tokens': (1n << 60n) + 1n,
        'gen_ai.usage.output_tokens': 30,
        'gen_ai.input.messages': '[{"role":"user","content":"hi 😀"}]',
        'gen_ai.output.messages': 'line1\n\nline3\r\n\u0000nul',
        'tracehouse.cost_usd': 0.000123,
        'tracehouse.verdict': 'flagged',
        'tracehouse.workspace': 'ws',
        'tracehouse.project': 'proj',
        int_big: -(1n << 62n),
        dbl: 3.14159,
        dbl_nan: Number.NaN,
        bool: true,
        bytes: new Uint8Array([0, 10, 10, 255]),
        arr: ['a', 1n, 2.5, false, null, new Uint8Array([1])],
        kv: { nested: { deeper: ['x', { y: 1n }] }, empty: null },
        empty: null,
        '': 'empty key',
        astral: '𝄞 𠜎',
        lone: 'a\ud800b\udc00c',
        'key\nwith\n\nnewlines': 'value\n\n',
      },
      events: [
        { timeUnixNano: T0 + 1n, name: 'gen_ai.content.prompt', attributes: { prompt: 'p\n\nq', n: 1n }, droppedAttributesCount: 0 },
        { timeUnixNano: T0 + 2n, name: 'exception', attributes: {}, droppedAttributesCount: 0 },
      ],
      links: [
        { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceState: 'a=b', attributes: { link: 'yes' }, droppedAttributesCount: 0, flags: 1 },
      ],
      droppedAttributesCount: 3,
      droppedEventsCount: 4,
      droppedLinksCount: 5,
      flags: 0x301,
      traceState: 'vendor=x',
      resource,
      scope,
      scopeSchemaUrl: 'scope-schema',
    }),
    makeSpan({
      traceId: 'id\n\nwith newlines',
      spanId: 'x\n\n',
      name: '',
      startTimeUnixNano: -5n,
      endTimeUnixNano: 1n << 70n,
      attributes: {
        'gen_ai.system': 'anthropic',
        'gen_ai.usage.prompt_tokens': '42',
        'gen_ai.usage.completion_tokens': 1.9e30,
        'gen_ai.prompt': 'x'.repeat(70_000),
        'tracehouse.cost_usd': Number.POSITIVE_INFINITY,
      },
      flags: 2 ** 40,
      droppedAttributesCount: -1,
      resource,
      scope,
    }),
    makeSpan({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), name: 'big map', attributes: big, startTimeUnixNano: T0 + 5n, endTimeUnixNano: T0 }),
  ];
  for (let i = 0; i < 200; i++) {
    spans.push(
      makeSpan({
        traceId: i.toString(16).padStart(32, 'e'),
        spanId: i.toString(16).padStart(16, 'f'),
        name: `span ${i} ✓`,
        startTimeUnixNano: T0 + BigInt(i) * 18_000_000_000_000n,
        endTimeUnixNano: T0 + BigInt(i) * 18_000_000_000_000n + 10n,
        attributes: i % 3 === 0 ? {} : { i: BigInt(i), s: 'é'.repeat(i) },
        events: i % 5 === 0 ? [{ timeUnixNano: T0, name: `e${i}`, attributes: {}, droppedAttributesCount: 0 }] : [],
        resource: i % 2 === 0 ? resource : { attributes: {}, droppedAttributesCount: 0, schemaUrl: '' },
      }),
    );
  }
  return spans;
}

const ALL_ROWS = (table: string) =>
  `SELECT * FROM ${table} ORDER BY SpanId, TraceId SETTINGS output_format_json_quote_64bit_integers = 1, output_format_json_quote_denormals = 1`;

async function compareModes(native: Harness, text: Harness, insertText: (body: Buffer) => Promise<void>): Promise<void> {
  const spans = hostileSpans();
  // Concurrent calls, joined into fewer inserts than calls: their maps' and lists' offsets are
  // rebased where one call's columns follow another's.
  const calls: Span[][] = [];
  for (let i = 0; i < spans.length; i += 25) calls.push(spans.slice(i, i + 25));
  const insertsBefore = await insertCount(native.telemetry);
  await Promise.all(calls.map((call) => native.exporter.consume(call, signal())));
  expect((await insertCount(native.telemetry)) - insertsBefore).toBeLessThan(calls.length);
  await insertText(encodeSpans(spans));
  const viaNative = await native.rows<Record<string, unknown>>(ALL_ROWS('otel_traces'));
  const viaText = await text.rows<Record<string, unknown>>(ALL_ROWS('otel_traces'));
  expect(viaNative).toHaveLength(spans.length);
  expect(viaNative).toEqual(viaText);
  // The values really went through: spot checks of the hardest ones.
  const first = viaNative.find((r) => r.SpanId === 'b7ad6b7169203331') as Record<string, unknown>;
  expect(first.InputTokens).toBe(((1n << 60n) + 1n).toString());
  expect((first.SpanAttributes as Record<string, string>).lone).toBe('a\ufffdb\ufffdc');
  expect((first.SpanAttributes as Record<string, string>)['key\nwith\n\nnewlines']).toBe('value\n\n');
  expect(first['Events.Name']).toEqual(['gen_ai.content.prompt', 'exception']);
  expect(first.Output).toBe('line1\n\nline3\r\n\u0000nul');
  const newlines = viaNative.find((r) => r.SpanId === 'x\n\n') as Record<string, unknown>;
  expect(newlines.TraceId).toBe('id\n\nwith newlines');
  expect(newlines.GenAIProvider).toBe('anthropic');
  expect(newlines.InputTokens).toBe('42');
  expect(Object.keys((viaNative.find((r) => r.SpanName === 'big map') as { SpanAttributes: object }).SpanAttributes)).toHaveLength(1500);
}

test('embedded: Native blocks and JSONEachRow lines store identical rows for every kind of value', async () => {
  const spool = tempDir('tracehouse-spool-test-');
  const native = await start({ path: dataPath, database: 'native_rows', spool_dir: spool });
  const text = await start({ path: dataPath, database: 'text_rows' });
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    await compareModes(native, text, (body) => connection.insertNdjson('text_rows.otel_traces', body));
  } finally {
    await connection.close();
  }
  // The block went through the process's spool directory, and its file is gone once the insert settled.
  expect(fs.readdirSync(spool)).toEqual([expect.stringMatching(new RegExp(`^tracehouse-spool-${process.pid}-`))]);
  expect(spoolFiles(spool)).toEqual([]);
});

test('a block joined from many calls is byte for byte the block of one call, and the spool writes its pieces in full', () => {
  const spans = hostileSpans();
  // One span per call: thousands of pieces, more than one writev takes at once (IOV_MAX 1024).
  const block = nativeBlock(spans.map((span) => encodeNativeColumns([span])));
  expect(block.length).toBeGreaterThan(2048);
  const whole = encodeNativeBlock(spans);
  expect(joinNativeBlock(block).equals(whole)).toBe(true);
  const spool = new Spool(tempDir('tracehouse-spool-pieces-'), silentLogger());
  try {
    const file = spool.write(block) as string;
    expect(fs.readFileSync(file).equals(whole)).toBe(true);
    spool.remove(file);
    expect(fs.existsSync(file)).toBe(false);
  } finally {
    spool.close();
  }
});

test('server: the same Native block over HTTP stores the same rows as JSONEachRow', async () => {
  const endpoint = server.url;
  const native = await start({ endpoint, database: 'srv_native_rows' });
  const text = await start({ endpoint, database: 'srv_text_rows' });
  const connection = new ServerConnection({ endpoint, username: 'default', password: '', insertTimeoutMs: 30_000, maxOpenConnections: 2, logger: silentLogger() });
  try {
    await compareModes(native, text, (body) => connection.insertNdjson('srv_text_rows.otel_traces', body));
  } finally {
    await connection.close();
  }
  expect(server.requests.some((r) => r.query.startsWith('INSERT INTO srv_native_rows.otel_traces (') && r.query.endsWith('FORMAT Native'))).toBe(true);
});

function spoolFiles(dir: string): string[] {
  return fs.readdirSync(dir).flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => path.join(d, f)));
}

test('a failing insert removes its spool file too', async () => {
  const spool = tempDir('tracehouse-spool-fail-');
  const h = await start({ path: dataPath, database: 'spool_fail', spool_dir: spool });
  await h.exporter.consume([makeSpan({ traceId: 'a'.repeat(32), spanId: 'e'.repeat(16), name: 'before', startTimeUnixNano: T0 })], signal());
  // A column the rows cannot fill: every later insert is refused by the engine.
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    await connection.command("ALTER TABLE spool_fail.otel_traces MODIFY COLUMN Verdict Enum8('' = 0, 'pass' = 1)");
  } finally {
    await connection.close();
  }
  const outcome = await settle(h.exporter.consume([hostileSpans()[0]], signal()));
  expect(outcome).toMatchObject({ ok: false, error: { code: 'EXP_CLICKHOUSE_REJECTED' } });
  expect(spoolFiles(spool)).toEqual([]);
});

test('an unwritable spool directory falls back to inline blocks with one warning, storing the same rows', async () => {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const missing = path.join(tempDir('tracehouse-spool-missing-'), 'not', 'there');
  const h = await start({ path: dataPath, database: 'spool_fallback', spool_dir: missing }, logger);
  const text = await start({ path: dataPath, database: 'spool_fallback_text' });
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    await compareModes(h, text, (body) => connection.insertNdjson('spool_fallback_text.otel_traces', body));
  } finally {
    await connection.close();
  }
  const count = hostileSpans().length;
  await h.exporter.consume([makeSpan({ traceId: 'a'.repeat(32), spanId: 'c'.repeat(16), name: 'still inline', startTimeUnixNano: T0 })], signal());
  expect(await h.count()).toBe(count + 1);
  const warnings = lines.filter((l) => l.msg.includes('inserting the blocks inline'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0].level).toBe(40);
  // Once the directory exists, blocks go through it again, and the recovery is logged.
  fs.mkdirSync(missing, { recursive: true });
  await h.exporter.consume([makeSpan({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'after', startTimeUnixNano: T0 })], signal());
  expect(lines.some((l) => l.msg.includes('writable again'))).toBe(true);
  expect(await h.count()).toBe(count + 2);
});

test("the spool of a process that died is removed by the next exporter to start; a live one's is kept", async () => {
  const spool = tempDir('tracehouse-spool-orphans-');
  const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
  const orphan = path.join(spool, `tracehouse-spool-${gone}-abc123`);
  fs.mkdirSync(orphan);
  fs.writeFileSync(path.join(orphan, '7.bin'), 'left over');
  const live = path.join(spool, `tracehouse-spool-${process.ppid}-def456`);
  fs.mkdirSync(live);
  const h = await start({ path: dataPath, database: 'spool_orphans', spool_dir: spool });
  await h.exporter.consume([makeSpan({ traceId: 'a'.repeat(32), spanId: 'c'.repeat(16), name: 'x', startTimeUnixNano: T0 })], signal());
  expect(fs.existsSync(orphan)).toBe(false);
  expect(fs.existsSync(live)).toBe(true);
  // Shutdown removes the exporter's own directory.
  await h.exporter.shutdown();
  expect(fs.readdirSync(spool)).toEqual([path.basename(live)]);
});
