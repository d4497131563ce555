import { checkReadOnly, formatClause } from '../../core/read-only-sql';

describe('read-only SQL check', () => {
  it.each([
    'SELECT count() FROM otel_traces',
    '  -- comment\nselect 1',
    '/* why */ (SELECT 1)',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    'SHOW TABLES',
    'DESCRIBE TABLE otel_traces',
    'EXISTS TABLE otel_traces',
    'EXPLAIN SELECT 1',
    "SELECT 'DROP TABLE x; INSERT' FROM otel_traces;",
    'SELECT * FROM otel_traces FORMAT JSON',
  ])('allows %s', (sql) => {
    expect(checkReadOnly(sql)).toEqual({ ok: true });
  });

  it.each([
    ['DROP TABLE otel_traces', /only read queries.*got DROP/],
    ['INSERT INTO otel_traces VALUES (1)', /got INSERT/],
    ['ALTER TABLE otel_traces DELETE WHERE 1', /got ALTER/],
    ['SELECT 1; DROP TABLE otel_traces', /one statement/],
    ["SELECT * FROM file('/etc/passwd')", /file\(\) is not allowed/],
    ["SELECT * FROM url('http://127.0.0.1/', CSV)", /url\(\) is not allowed/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE/],
    ['', /empty query/],
    ["SELECT 'unterminated", /unterminated/],
  ])('refuses %s', (sql, reason) => {
    const verdict = checkReadOnly(sql);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? '' : verdict.reason).toMatch(reason);
  });

  it('finds the FORMAT clause, ignoring strings', () => {
    expect(formatClause('SELECT 1 FORMAT JSONEachRow')).toBe('JSONEachRow');
    expect(formatClause("SELECT 'FORMAT CSV' AS x")).toBeUndefined();
    expect(formatClause('SELECT 1 FORMAT CSV SETTINGS max_threads = 1;')).toBe('CSV');
  });
});
