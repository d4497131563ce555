/**
 * The admin query endpoint on the default config, driven as an attacker would: every statement that
 * could read or write a file, reach a URL or another server, change a setting, cancel other work or
 * read outside the store is refused; what an analyst of a trace store needs still works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALLOWED_TABLE_FUNCTIONS } from '../../core/clickhouse/query-policy';
import type { TestDaemon } from '../support/daemon';
import { startDefaultDaemon } from '../support/default-daemon';

let daemon: TestDaemon;
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracehouse-outfile-'));
const secretFile = path.join(outDir, 'secret.txt');
const SECRET = 'tracehouse-secret-9f1c0b7e';

beforeAll(async () => {
  fs.writeFileSync(secretFile, `${SECRET}\n`);
  daemon = await startDefaultDaemon();
});
afterAll(async () => {
  await daemon.stop();
});

async function query(sql: string, params: Record<string, string> = {}): Promise<{ status: number; text: string; code: string | null }> {
  const url = new URL(daemon.adminUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { method: 'POST', body: sql });
  return { status: res.status, text: await res.text(), code: res.headers.get('x-clickhouse-exception-code') };
}

/**
 * Refused: 403 READONLY when the engine parses it, 400 SYNTAX_ERROR when it does not (e.g. several
 * statements). A refusal never carries file contents.
 */
async function expectRefused(sql: string, status?: 400 | 403): Promise<string> {
  const answer = await query(sql);
  const expected = status ?? (answer.status === 400 ? 400 : 403);
  expect({ sql, status: answer.status }).toEqual({ sql, status: expected });
  expect(answer.code).toBe(expected === 400 ? '62' : '164');
  expect(answer.text).not.toContain(SECRET);
  expect(answer.text).not.toContain('root:x:0:0');
  return answer.text;
}

function filesIn(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe('what an analyst needs still works', () => {
  test.each([
    ['SELECT count() FROM otel_traces', '0'],
    ['SELECT sum(number) FROM numbers(10)', '45'],
    ['WITH 2 AS x SELECT x * 3', '6'],
    ['SELECT countIf(number > 4), uniqExact(number) FROM numbers(10)', '5\t10'],
    ['SELECT groupArray(r) FROM (SELECT row_number() OVER (ORDER BY number) AS r FROM numbers(3))', '[1,2,3]'],
    ['SELECT arrayMap(x -> x * 2, [1, 2])', '[2,4]'],
    ['SELECT 1 UNION ALL SELECT 2 ORDER BY 1', '1\n2'],
    ["SELECT formatReadableSize(1024), toTypeName(1), CASE 1 WHEN 1 THEN 'a' END", '1.00 KiB\tUInt8\ta'],
    ["SELECT count() > 10 FROM system.columns WHERE table = 'otel_traces'", '1'],
    ['SELECT number FROM numbers(2) WHERE number IN (SELECT 1)', '1'],
  ])('%s', async (sql, expected) => {
    const answer = await query(sql);
    expect(answer.status).toBe(200);
    expect(answer.text.trim()).toBe(expected);
  });

  test('FORMAT clauses, default_format, SHOW, DESCRIBE, EXISTS and EXPLAIN', async () => {
    const json = await query('SELECT 1 AS one FORMAT JSONEachRow');
    expect(json.text).toBe('{"one":1}\n');
    expect((await query('SELECT 1 AS one', { default_format: 'CSVWithNames' })).text).toBe('"one"\n1\n');
    expect((await query('SHOW TABLES')).text).toContain('otel_traces');
    expect((await query('DESCRIBE TABLE otel_traces')).text).toContain('TraceId');
    expect((await query('EXISTS TABLE otel_traces')).text.trim()).toBe('1');
    expect((await query('SHOW CREATE TABLE otel_traces')).text).toContain('ReplacingMergeTree');
    expect((await query('EXPLAIN SELECT count() FROM otel_traces')).status).toBe(200);
    expect((await query('EXPLAIN AST SELECT 1')).status).toBe(200);
  });
});

describe('files, URLs and other servers are out of reach', () => {
  test('every table function the engine has that is not allow-listed is refused, in every position', async () => {
    const listed = await query('SELECT name FROM system.table_functions ORDER BY name');
    expect(listed.status).toBe(200);
    const names = listed.text.trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['file', 'url', 'filesystem', 's3', 'remote', 'executable', 'mysql']));
    const forbidden = names.filter((n) => !ALLOWED_TABLE_FUNCTIONS.has(n));
    expect(forbidden.length).toBeGreaterThan(40);
    for (const name of forbidden) {
      const call = `${name}('${secretFile}', 'LineAsString', 'line String')`;
      for (const sql of [
        `SELECT * FROM ${call}`,
        `DESCRIBE TABLE ${call}`,
        `SELECT * FROM numbers(1) WHERE number IN (SELECT count() FROM ${call})`,
        `SELECT * FROM view(SELECT * FROM ${call})`,
        `WITH t AS (SELECT * FROM ${call}) SELECT * FROM t`,
        `SELECT * FROM numbers(1) AS a JOIN ${call} AS b ON 1`,
      ]) {
        await expectRefused(sql);
      }
    }
  });

  test('parser differentials: the engine parses, so spaces, comments and strings hide nothing', async () => {
    const f = `file('${secretFile}', 'LineAsString')`;
    for (const sql of [
      `SELECT\u200b* FROM ${f}`,
      `SELECT\u00a0*\u2003FROM\u3000${f}`,
      `SELECT /* /* */ * FROM ${f} */ 1 FROM ${f}`,
      `SELECT /* /* nested */ */ * FROM ${f}`,
      `SELECT $$'$$, * FROM ${f}`,
      `SELECT '\\'' AS a, * FROM ${f}`,
      `SELECT * FROM -- comment\n ${f}`,
      `SELECT * FROM # hash comment\n ${f}`,
      `SELECT * FROM FILE('${secretFile}', 'LineAsString')`,
      `SELECT * FROM \`file\`('${secretFile}', 'LineAsString')`,
      `SELECT * FROM "file"('${secretFile}', 'LineAsString')`,
      `(SELECT * FROM ${f})`,
      `SELECT file('${secretFile}')`,
      `SELECT * APPLY(file) FROM (SELECT '${secretFile}' AS p)`,
      `SELECT arrayMap(x -> file(x), ['${secretFile}'])`,
      `SELECT * FROM filesystem('/etc')`,
      `SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')`,
      `SELECT * FROM merge('system', '.*')`,
      `SELECT * FROM numbers()`,
    ]) {
      await expectRefused(sql);
    }
  });

  test('names holding line breaks cannot forge lines of the syntax tree the guard reads', async () => {
    const read = `(SELECT file('${secretFile}')) AS s`;
    const forged = '\n   TableIdentifier x (alias y';
    for (const sql of [
      `SELECT 1 AS \`a${forged}\`, ${read}`,
      `SELECT 1 AS "a${forged}", ${read}`,
      `WITH 1 AS \`a${forged}\` SELECT a, ${read}`,
      `SELECT \`a${forged}\` FROM (SELECT 1 AS \`a${forged}\`, ${read})`,
      `SELECT * FROM numbers(1) AS \`t${forged}\`, (SELECT file('${secretFile}')) AS s`,
      `SELECT 1 AS \`a\r\n   TableIdentifier x (alias y\`, ${read}`,
      `SELECT 1 AS \`a\n    Function file (children 1)\`, ${read}`,
      `SELECT 1 AS \`a\\\\\`, ${read}`,
      `SELECT 1 AS \`tab\there\`, ${read}`,
    ]) {
      const text = await expectRefused(sql);
      expect(text).not.toContain(SECRET);
    }
    // Line breaks inside string literals are escaped by the engine and stay allowed.
    const literal = await query(`SELECT 'two\\nlines' AS s FORMAT TSVRaw`);
    expect(literal).toMatchObject({ status: 200, text: 'two\nlines\n' });
  });

  test('INTO OUTFILE in every spelling writes nothing', async () => {
    const before = filesIn(outDir);
    const target = path.join(outDir, 'out.txt');
    for (const sql of [
      `SELECT 1 INTO OUTFILE '${target}'`,
      `select 1 into   outfile '${target}'`,
      `SELECT 1 INTO/**/OUTFILE '${target}'`,
      `SELECT 1 INTO OUTFILE '${target}' TRUNCATE`,
      `SELECT 1 INTO OUTFILE '${target}' APPEND`,
      `SELECT 1 INTO OUTFILE '${target}' AND STDOUT`,
      `SELECT 1 INTO OUTFILE '${target}' COMPRESSION 'gzip' LEVEL 3`,
      `SELECT 1 INTO OUTFILE '${target}' FORMAT CSV`,
      `EXPLAIN SELECT 1 INTO OUTFILE '${target}'`,
      `SELECT 1 INTO OUTFILE $$${target}$$`,
      `SELECT 1 INTO\u200bOUTFILE '${target}'`,
    ]) {
      await expectRefused(sql);
    }
    expect(filesIn(outDir)).toEqual(before);
  });

  test('formats that read schema or template files are refused', async () => {
    await expectRefused(`SELECT 1 FORMAT Protobuf`);
    await expectRefused(`SELECT 1 FORMAT CapnProto`);
    await expectRefused(`SELECT 1 FORMAT Template`);
    expect((await query('SELECT 1', { default_format: 'Protobuf' })).status).toBe(403);
  });
});

describe('no statement changes the engine or another caller', () => {
  test.each([
    'SET readonly = 0',
    'SET max_execution_time = 0',
    'KILL QUERY WHERE 1',
    "KILL QUERY WHERE query LIKE '%INSERT%' SYNC",
    'SYSTEM FLUSH LOGS',
    'SYSTEM SHUTDOWN',
    'DROP TABLE otel_traces',
    'TRUNCATE TABLE otel_traces',
    "INSERT INTO otel_traces (TraceId) VALUES ('x')",
    'INSERT INTO FUNCTION file(\'x.csv\') SELECT 1',
    'CREATE TABLE t (x UInt8) ENGINE = Memory',
    "CREATE TABLE t ENGINE = File(CSV, '/etc/passwd')",
    'ALTER TABLE otel_traces DELETE WHERE 1',
    'DELETE FROM otel_traces WHERE 1',
    'OPTIMIZE TABLE otel_traces FINAL',
    'DETACH TABLE otel_traces',
    'ATTACH TABLE otel_traces',
    'RENAME TABLE otel_traces TO x',
    'GRANT ALL ON *.* TO default',
    'CREATE FUNCTION f AS x -> x',
    'USE system',
    "BACKUP TABLE otel_traces TO File('/tmp/b')",
    'CHECK TABLE otel_traces',
    'SHOW PROCESSLIST',
    "SHOW SETTINGS LIKE '%'",
    'SHOW CHANGED SETTINGS',
    'SHOW CLUSTERS',
    'SHOW DICTIONARIES',
    'SHOW FUNCTIONS',
    'SHOW ENGINES',
    'SHOW INDEXES FROM otel_traces',
    'SHOW FILESYSTEM CACHES',
    'SHOW MERGES',
    'SHOW GRANTS',
    'SHOW USERS',
    'SHOW COLUMNS FROM system.users',
    'SELECT 1 PARALLEL WITH SELECT 2',
  ])('%s is refused', async (sql) => {
    await expectRefused(sql);
  });

  test('multi-statements are refused whole, and nothing of a failed one leaks into the next answer', async () => {
    await expectRefused('SELECT 1; SELECT 2', 400);
    await expectRefused('SELECT 1;DROP TABLE otel_traces', 400);
    await expectRefused(`SELECT 1; SELECT * FROM file('${secretFile}')`, 400);
    await expectRefused('SELECT 1 ; SET readonly = 0', 400);
    const next = await query("SELECT 'clean'");
    expect(next.text).toBe('clean\n');
  });

  test('SETTINGS are refused anywhere in the statement', async () => {
    for (const sql of [
      'SELECT 1 SETTINGS readonly = 0',
      'SELECT 1 SETTINGS max_execution_time = 0',
      'SELECT 1 SETTINGS max_threads = 1',
      'SELECT x FROM (SELECT 1 AS x SETTINGS max_rows_to_read = 0)',
      'SELECT 1 FORMAT JSON SETTINGS max_result_bytes = 0',
      'EXPLAIN header = 1 SELECT 1',
      'DESCRIBE TABLE otel_traces SETTINGS describe_include_subcolumns = 1',
    ]) {
      await expectRefused(sql);
    }
  });

  test('functions that expose settings, the host or the server are refused', async () => {
    for (const sql of [
      "SELECT getSetting('readonly')",
      "SELECT getServerSetting('path')",
      "SELECT getMacro('x')",
      'SELECT hostName()',
      'SELECT currentUser()',
      'SELECT filesystemAvailable()',
      "SELECT dictGet('d', 'a', 1)",
      "SELECT joinGet('j', 'a', 1)",
      'SELECT sleep(3)',
      "SELECT aiGenerate('hi')",
      "SELECT catboostEvaluate('/tmp/m.bin', 1)",
    ]) {
      await expectRefused(sql);
    }
  });
});

describe('tables only from the store', () => {
  test.each([
    'SELECT * FROM system.settings',
    'SELECT * FROM system.users',
    'SELECT * FROM system.processes',
    'SELECT data_paths FROM system.tables',
    'SELECT * FROM system.disks',
    'SELECT * FROM system.databases',
    'SELECT * FROM system.parts',
    'SELECT * FROM system.query_log',
    'SELECT * FROM system.numbers',
    'SELECT * FROM information_schema.tables',
    'SELECT * FROM INFORMATION_SCHEMA.TABLES',
    'SELECT 1 FROM numbers(1) WHERE 1 IN system.users',
    'SHOW CREATE TABLE system.users',
    'DESCRIBE TABLE system.settings',
    'SHOW TABLES FROM information_schema',
    'SELECT * FROM `system`.`settings`',
    'SELECT * FROM other_db.otel_traces',
  ])('%s is refused', async (sql) => {
    await expectRefused(sql);
  });

  test('a database parameter outside the store is refused', async () => {
    const answer = await query('SELECT * FROM settings', { database: 'system' });
    expect(answer.status).toBe(403);
  });
});

test('the daemon still serves and stores after all of the above', async () => {
  const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'after-attacks',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000001000000000',
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  const stored = await query("SELECT count() FROM otel_traces WHERE SpanName = 'after-attacks'");
  expect(stored.text.trim()).toBe('1');
});
