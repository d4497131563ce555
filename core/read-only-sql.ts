/**
 * Decides whether a statement sent to the admin query endpoint is a plain read. The endpoint runs
 * with the daemon's own access to its store, so anything that writes, changes schema, or reaches
 * outside the store (files, URLs, other servers, programs) is refused.
 */

const READ_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN']);

/** Table functions that read or write outside the store. */
const OUTSIDE_FUNCTIONS = new Set(
  [
    'file', 'filecluster', 'url', 'urlcluster', 's3', 's3cluster', 'gcs', 'hdfs', 'hdfscluster',
    'azureblobstorage', 'azureblobstoragecluster', 'remote', 'remotesecure', 'cluster', 'clusterallreplicas',
    'mysql', 'postgresql', 'mongodb', 'redis', 'sqlite', 'jdbc', 'odbc', 'executable', 'input',
    'deltalake', 'iceberg', 'icebergs3', 'hudi', 'python', 'arrowflight',
  ],
);

export type ReadOnlyVerdict = { ok: true } | { ok: false; reason: string };

export function checkReadOnly(sql: string): ReadOnlyVerdict {
  const tokens = tokenize(sql);
  if (tokens === undefined) return { ok: false, reason: 'unterminated string, identifier or comment' };
  const words = tokens.filter((t) => t !== '(');
  if (words.length === 0) return { ok: false, reason: 'empty query' };
  const first = words[0].toUpperCase();
  if (!READ_STATEMENTS.has(first)) {
    return { ok: false, reason: `only read queries are allowed (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN), got ${first}` };
  }
  const semicolon = tokens.indexOf(';');
  if (semicolon !== -1 && tokens.slice(semicolon + 1).some((t) => t !== ';')) {
    return { ok: false, reason: 'only one statement per query is allowed' };
  }
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i].toLowerCase();
    if (word === 'into' && tokens[i + 1]?.toLowerCase() === 'outfile') {
      return { ok: false, reason: 'INTO OUTFILE is not allowed' };
    }
    if (tokens[i + 1] === '(' && OUTSIDE_FUNCTIONS.has(word)) {
      return { ok: false, reason: `table function ${tokens[i]}() is not allowed` };
    }
  }
  return { ok: true };
}

/** Finds a trailing `FORMAT Name` clause (ClickHouse puts FORMAT last, before an optional SETTINGS). */
export function formatClause(sql: string): string | undefined {
  const tokens = tokenize(sql)?.filter((t) => t !== ';');
  if (!tokens) return undefined;
  for (let i = tokens.length - 2; i >= 0; i--) {
    if (tokens[i].toUpperCase() === 'FORMAT' && /^[A-Za-z][A-Za-z0-9_]*$/.test(tokens[i + 1])) return tokens[i + 1];
  }
  return undefined;
}

/**
 * Splits SQL into words and the punctuation that matters here, dropping comments and the content
 * of string literals (so a keyword inside a string is never mistaken for SQL). Undefined when a
 * literal or comment is unterminated.
 */
function tokenize(sql: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '#' ) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return undefined;
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      if (j >= sql.length) return undefined;
      // Quoted identifiers keep their name (a table could be called "file"); strings become a placeholder.
      out.push(c === "'" ? "''" : sql.slice(i + 1, j));
      i = j + 1;
    } else if (/[A-Za-z0-9_]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_.]/.test(sql[j])) j++;
      out.push(sql.slice(i, j));
      i = j;
    } else {
      out.push(c);
      i++;
    }
  }
  return out;
}
