/**
 * Decides whether an analyst's statement may run on the admin query endpoint, using ClickHouse's
 * own parser rather than a tokenizer of ours: the engine formats the text into its canonical
 * single statement (refusing several statements), prints that statement's syntax tree, and the
 * tree is checked against allow-lists of statement kinds, syntax nodes, tables, table functions,
 * functions and formats. The canonical text, not the caller's, is what then runs, so the check
 * and the execution can never read the statement differently.
 */
import { PermanentError } from '../errors';
import { AstShapeError, parseExplainAst, withoutAlias, type AstNode } from './ast';
import {
  ALLOWED_SYSTEM_TABLES,
  ALLOWED_TABLE_FUNCTIONS,
  allowedFormat,
  type FunctionCatalogue,
} from './query-policy';

/** The engine's parser, reached without executing the statement. */
export interface SqlParser {
  /** The statement formatted by the engine on one line; rejects what does not parse or is several statements. */
  canonicalize(sql: string): Promise<string>;
  /** The engine's `EXPLAIN AST` of one canonical statement, run with settings that cannot change. */
  explainAst(statement: string): Promise<string>;
}

export interface GuardScope {
  /** Databases whose tables an analyst may read (the store's); `system` is separately allow-listed. */
  databases: ReadonlySet<string>;
  functions: FunctionCatalogue;
}

export type GuardVerdict =
  | { ok: true; statement: string; format: string | undefined }
  | { ok: false; kind: 'syntax' | 'refused'; reason: string };

const TRAILING_FORMAT = / FORMAT ([A-Za-z][A-Za-z0-9_]*)$/;
const SHOW_NAMES = /^SHOW (?:FULL )?(?:TEMPORARY )?(?:TABLES|DATABASES)\b/;
const PLAIN_TABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$/;
const EXPLAIN_KINDS = new Set([
  'EXPLAIN', 'EXPLAIN AST', 'EXPLAIN SYNTAX', 'EXPLAIN QUERY TREE', 'EXPLAIN PLAN', 'EXPLAIN PIPELINE', 'EXPLAIN ESTIMATE',
]);
const IN_FUNCTIONS = new Set([
  'in', 'notIn', 'globalIn', 'globalNotIn', 'nullIn', 'notNullIn', 'globalNullIn', 'globalNotNullIn',
]);

/**
 * Syntax nodes a read may contain. A node type not listed (a columns APPLY transformer, whose
 * function the tree does not show; query parameters; anything a later engine adds) is refused.
 */
const ALLOWED_NODES = new Set([
  'SelectWithUnionQuery', 'SelectIntersectExceptQuery', 'SelectQuery', 'ExpressionList', 'Function', 'Identifier',
  'Literal', 'Asterisk', 'QualifiedAsterisk', 'ColumnsRegexpMatcher', 'ColumnsListMatcher',
  'QualifiedColumnsRegexpMatcher', 'QualifiedColumnsListMatcher', 'ColumnsTransformerList',
  'ColumnsExceptTransformer', 'ColumnsReplaceTransformer', 'ColumnsReplaceTransformer::Replacement',
  'TablesInSelectQuery', 'TablesInSelectQueryElement', 'TableExpression', 'TableIdentifier', 'TableJoin', 'ArrayJoin',
  'Subquery', 'OrderByElement', 'WindowDefinition', 'WindowListElement', 'SampleRatio', 'WithElement',
  'InterpolateElement', 'DataType', 'NameTypePair', 'Alias',
]);

export async function guardQuery(sql: string, parser: SqlParser, scope: GuardScope): Promise<GuardVerdict> {
  let canonical: string;
  try {
    canonical = (await parser.canonicalize(sql)).trim();
  } catch (err) {
    return { ok: false, kind: 'syntax', reason: engineMessage(err) };
  }
  if (canonical === '') return { ok: false, kind: 'syntax', reason: 'empty query' };
  // The engine's canonical text is one line with every control character escaped; names are
  // printed unescaped in the syntax tree, so a name holding an escape could forge tree lines.
  if (CONTROL_CHARACTER.test(canonical)) return refused('control characters are not allowed outside string literals');
  if (escapedName(canonical)) return refused('quoted names may not contain escape sequences (control characters, backslashes or quotes)');
  let statement = canonical;
  let format: string | undefined;
  const trailing = TRAILING_FORMAT.exec(canonical);
  if (trailing) {
    format = allowedFormat(trailing[1]);
    if (!format) return refused(`output format ${trailing[1]} is not allowed (it may read schema or template files)`);
    statement = canonical.slice(0, trailing.index);
  }
  let roots: AstNode[];
  try {
    roots = parseExplainAst(await parser.explainAst(statement));
  } catch (err) {
    // The guard's parser session is readonly=1: a SETTINGS clause fails here already.
    if (err instanceof AstShapeError) return refused(`the engine's syntax tree of this statement could not be read: ${err.message}`);
    return refused(engineMessage(err));
  }
  if (roots.length !== 1) return refused('exactly one statement is allowed');
  const reason = new StatementCheck(scope).statement(roots[0], statement);
  return reason === undefined ? { ok: true, statement, format } : refused(reason);
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Whether a backquoted or double-quoted name in the engine's canonical text holds a backslash:
 * the engine escapes control characters, backslashes and quotes in names that way. The canonical
 * text has no comments or heredocs left, so quotes are the only state to follow.
 */
function escapedName(canonical: string): boolean {
  let quote = '';
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical[i];
    if (quote === '') {
      if (c === "'" || c === '`' || c === '"') quote = c;
    } else if (c === '\\') {
      if (quote !== "'") return true;
      i++; // the escaped character of a string literal
    } else if (c === quote) {
      quote = '';
    }
  }
  return false;
}

function refused(reason: string): GuardVerdict {
  return { ok: false, kind: 'refused', reason };
}

function engineMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // chdb wraps the engine's exception in its own "Code: N. DB::Exception:" prefix.
  return message.replace(/^(Code: \d+\. DB::Exception: )(?=Code: \d+\.)/, '').trim();
}

class StatementCheck {
  constructor(private readonly scope: GuardScope) {}

  statement(node: AstNode, statement: string): string | undefined {
    switch (node.type) {
      case 'SelectWithUnionQuery':
        return this.topSelect(node);
      case 'Explain': {
        if (!EXPLAIN_KINDS.has(node.detail)) return `${node.detail} is not allowed`;
        if (node.children.length !== 1 || node.children[0].type !== 'SelectWithUnionQuery') {
          return 'EXPLAIN is allowed of one SELECT without settings';
        }
        return this.topSelect(node.children[0]);
      }
      case 'ShowTables': {
        // The engine prints SHOW SETTINGS, SHOW CLUSTERS and others as ShowTables too; the
        // canonical text (the engine's own formatting of this tree) tells them apart.
        if (!SHOW_NAMES.test(statement)) return 'only SHOW TABLES and SHOW DATABASES are allowed';
        // SHOW TABLES [FROM db] and SHOW DATABASES: names only.
        for (const child of node.children) {
          if (child.type !== 'Identifier') return 'SHOW TABLES may only name a database';
          if (child.detail !== 'system' && !this.scope.databases.has(child.detail)) return this.unknownDatabase(child.detail);
        }
        return undefined;
      }
      case 'ShowCreateTableQuery':
      case 'ExistsTableQuery': {
        const names = node.children.filter((c) => c.type === 'Identifier').map((c) => c.detail);
        if (names.length !== node.children.length || names.length === 0 || names.length > 2) return `${node.type} must name one table`;
        return this.table(names.join('.'));
      }
      case 'DescribeQuery':
        return this.walk(node.children);
      default:
        return `only one read statement is allowed (SELECT, WITH, SHOW TABLES, SHOW CREATE TABLE, DESCRIBE, EXISTS, EXPLAIN), got ${node.type}`;
    }
  }

  /** The outermost SELECT: its only child is the select list; INTO OUTFILE, FORMAT and SETTINGS would follow it. */
  private topSelect(node: AstNode): string | undefined {
    for (const extra of node.children.slice(1)) {
      if (extra.type === 'Literal') return 'INTO OUTFILE is not allowed';
      if (extra.type === 'Set') return 'SETTINGS are not allowed: the query endpoint runs with fixed limits';
      return `${extra.type} after the query is not allowed`;
    }
    return this.walk(node.children);
  }

  private walk(nodes: readonly AstNode[]): string | undefined {
    for (const node of nodes) {
      const reason = this.node(node);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  private node(node: AstNode): string | undefined {
    switch (node.type) {
      case 'Set':
        return 'SETTINGS are not allowed: the query endpoint runs with fixed limits';
      case 'TableExpression':
        return this.tableExpression(node);
      case 'TableIdentifier':
        return this.table(withoutAlias(node.detail));
      case 'Function':
        return this.function(node);
      default:
        if (!ALLOWED_NODES.has(node.type)) return `${node.type} is not allowed in a query`;
        return this.walk(node.children);
    }
  }

  private tableExpression(node: AstNode): string | undefined {
    for (const child of node.children) {
      if (child.type === 'Function') {
        const name = functionName(child);
        const rule = ALLOWED_TABLE_FUNCTIONS.get(name);
        if (!rule) return `table function ${name}() is not allowed (allowed: ${[...ALLOWED_TABLE_FUNCTIONS.keys()].join(', ')})`;
        const args = child.children.find((c) => c.type === 'ExpressionList');
        if (rule.bounded && (!args || args.children.length === 0)) return `table function ${name}() needs a bound, e.g. ${name}(1000)`;
        const reason = this.walk(child.children);
        if (reason !== undefined) return reason;
        continue;
      }
      const reason = this.node(child);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  private function(node: AstNode): string | undefined {
    const name = functionName(node);
    if (!this.scope.functions.allows(name)) return `function ${name}() is not allowed on the query endpoint`;
    if (IN_FUNCTIONS.has(name)) {
      // `x IN db.table` reads a table through an identifier.
      const right = node.children[0]?.children[1];
      if (right?.type === 'Identifier' && right.detail.includes('.')) {
        const reason = this.table(withoutAlias(right.detail));
        if (reason !== undefined) return reason;
      }
    }
    return this.walk(node.children);
  }

  private table(name: string): string | undefined {
    const match = PLAIN_TABLE.exec(name);
    if (!match) return `table ${JSON.stringify(name)} is not allowed: name tables as database.table with plain identifiers`;
    const [, first, second] = match;
    if (second === undefined) return undefined; // the request's database, which is one of the store's
    if (first === 'system') {
      return ALLOWED_SYSTEM_TABLES.has(second)
        ? undefined
        : `system.${second} is not allowed (allowed: ${[...ALLOWED_SYSTEM_TABLES].map((t) => `system.${t}`).join(', ')})`;
    }
    return this.scope.databases.has(first) ? undefined : this.unknownDatabase(first);
  }

  private unknownDatabase(name: string): string {
    return `database ${name} is not allowed (allowed: ${[...this.scope.databases].join(', ')}, and part of system)`;
  }
}

function functionName(node: AstNode): string {
  const detail = withoutAlias(node.detail);
  const space = detail.indexOf(' ');
  return space === -1 ? detail : detail.slice(0, space);
}

/** A statement the query endpoint does not run: `syntax` when the engine cannot parse it. */
export class QueryRefusedError extends PermanentError {
  constructor(
    readonly kind: 'syntax' | 'refused',
    message: string,
  ) {
    super(kind === 'syntax' ? 'QRY_SYNTAX' : 'QRY_REFUSED', message);
  }
}
