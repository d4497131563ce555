/**
 * The tree ClickHouse prints for `EXPLAIN AST`: one node per line, indented by one space per
 * level, `Type [details] [(alias a)] [(children N)]`. Reading the engine's own parse keeps the
 * query guard in agreement with what the engine will execute.
 */
export interface AstNode {
  /** e.g. SelectWithUnionQuery, Function, TableIdentifier, Set. */
  type: string;
  /** What follows the type, without the `(children N)` suffix: a function or table name, etc. */
  detail: string;
  children: AstNode[];
}

const CHILDREN_SUFFIX = / \(children \d+\)$/;

export function parseExplainAst(text: string): AstNode[] {
  const roots: AstNode[] = [];
  const stack: { depth: number; node: AstNode }[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let depth = 0;
    while (raw.charCodeAt(depth) === 32) depth++;
    const line = raw.slice(depth).replace(CHILDREN_SUFFIX, '');
    const space = line.indexOf(' ');
    const node: AstNode = {
      type: space === -1 ? line : line.slice(0, space),
      detail: space === -1 ? '' : line.slice(space + 1),
      children: [],
    };
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop();
    if (stack.length === 0) roots.push(node);
    else stack[stack.length - 1].node.children.push(node);
    stack.push({ depth, node });
  }
  return roots;
}

/** A node's detail without a trailing `(alias x)`. */
export function withoutAlias(detail: string): string {
  const at = detail.indexOf(' (alias ');
  return at === -1 ? detail : detail.slice(0, at);
}
