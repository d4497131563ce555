/**
 * The tree ClickHouse prints for `EXPLAIN AST`: one node per line, indented by one space per
 * level, `Type [details] [(alias a)] [(children N)]`. Reading the engine's own parse keeps the
 * query guard in agreement with what the engine will execute.
 *
 * The engine prints names as they are, unescaped, so a name holding a line break could print
 * lines that look like nodes. The reading is therefore strict: every line must be a well-formed
 * node one level at most below its parent, and every node must have exactly the number of
 * children it declares; anything else throws, and the guard refuses the statement.
 */
export interface AstNode {
  /** e.g. SelectWithUnionQuery, Function, TableIdentifier, Set. */
  type: string;
  /** What follows the type, without the `(children N)` suffix: a function or table name, etc. */
  detail: string;
  children: AstNode[];
}

const CHILDREN_SUFFIX = / \(children (\d+)\)$/;
const NODE_TYPE = /^[A-Za-z][A-Za-z0-9_]*(?:::[A-Za-z][A-Za-z0-9_]*)?$/;

export class AstShapeError extends Error {}

export function parseExplainAst(text: string): AstNode[] {
  const roots: AstNode[] = [];
  const stack: { depth: number; node: AstNode }[] = [];
  const declared = new Map<AstNode, number>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let depth = 0;
    while (raw.charCodeAt(depth) === 32) depth++;
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop();
    const parentDepth = stack.length === 0 ? -1 : stack[stack.length - 1].depth;
    if (depth !== parentDepth + 1) throw new AstShapeError(`syntax tree line nested ${depth - parentDepth} levels below its parent`);
    let line = raw.slice(depth);
    const suffix = CHILDREN_SUFFIX.exec(line);
    if (suffix) line = line.slice(0, suffix.index);
    const space = line.indexOf(' ');
    const node: AstNode = {
      type: space === -1 ? line : line.slice(0, space),
      detail: space === -1 ? '' : line.slice(space + 1),
      children: [],
    };
    if (!NODE_TYPE.test(node.type)) throw new AstShapeError('syntax tree line is not a node');
    declared.set(node, suffix ? Number(suffix[1]) : 0);
    if (stack.length === 0) roots.push(node);
    else stack[stack.length - 1].node.children.push(node);
    stack.push({ depth, node });
  }
  for (const [node, count] of declared) {
    if (node.children.length !== count) throw new AstShapeError(`syntax tree node ${node.type} declares ${count} children but has ${node.children.length}`);
  }
  return roots;
}

/** A node's detail without a trailing `(alias x)`. */
export function withoutAlias(detail: string): string {
  const at = detail.indexOf(' (alias ');
  return at === -1 ? detail : detail.slice(0, at);
}
