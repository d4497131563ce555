import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import type { Diagnostic, Severity } from './diagnostics';
import { joinPath } from './diagnostics';

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

/**
 * A parsed YAML file that knows where every node came from, so that every problem found later
 * (by zod or by graph checks) can be reported with file:line:col.
 */
export class YamlSource {
  readonly diagnostics: Diagnostic[] = [];
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;

  constructor(
    readonly file: string,
    text: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const err of [...this.doc.errors, ...this.doc.warnings]) {
      const duplicate = err.code === 'DUPLICATE_KEY';
      // The parser places a duplicate key at the end of the pair before it; point at the key itself.
      const offset = duplicate ? err.pos[1] + (/^[ \t]*/.exec(text.slice(err.pos[1]))?.[0].length ?? 0) : err.pos[0];
      const [line, col] = this.lineCol(offset);
      this.diagnostics.push({
        file,
        line,
        col,
        severity: this.doc.errors.includes(err) ? 'error' : 'warning',
        path: '',
        message: duplicate ? 'key appears twice in the same mapping' : err.message.split('\n')[0],
        code: duplicate ? 'CFG_DUPLICATE_KEY' : 'CFG_YAML_SYNTAX',
      });
    }
    if (this.doc.errors.length === 0) this.substituteEnv(env);
  }

  /** The document as plain JS after env substitution (undefined when it does not parse). */
  toJS(): unknown {
    return this.doc.errors.length === 0 ? this.doc.toJS() : undefined;
  }

  /**
   * Reports a problem at `path`. With `atKey`, points at the key named by the last path element
   * (better for "unknown key" and "missing" problems); falls back to the nearest existing ancestor.
   */
  report(
    path: readonly (string | number)[],
    message: string,
    code: string,
    options: { severity?: Severity; atKey?: string } = {},
  ): void {
    const offset = this.offsetOf(path, options.atKey);
    const [line, col] = this.lineCol(offset);
    this.diagnostics.push({
      file: this.file,
      line,
      col,
      severity: options.severity ?? 'error',
      path: joinPath(path),
      message,
      code,
    });
  }

  private offsetOf(path: readonly (string | number)[], atKey?: string): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    const steps = atKey === undefined ? path : [...path, atKey];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const last = i === steps.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
        if (!pair) return offset;
        // For the last step of an atKey lookup, the key itself is the most useful position.
        if (last && atKey !== undefined) return rangeStart(pair.key) ?? offset;
        node = pair.value;
        // A scalar is reported where its value is; a mapping, list or empty value where its key is.
        offset = (isScalar(node) && node.value !== null ? rangeStart(node) : rangeStart(pair.key)) ?? offset;
      } else if (isSeq(node) && typeof step === 'number') {
        const item = node.items[step];
        if (item === undefined) return offset;
        node = item;
        offset = rangeStart(node) ?? offset;
      } else {
        return offset;
      }
    }
    return offset;
  }

  private lineCol(offset: number): [number, number] {
    const pos = this.lines.linePos(offset);
    return [pos.line, pos.col];
  }

  private substituteEnv(env: NodeJS.ProcessEnv): void {
    visit(this.doc, {
      Scalar: (_key, node, path) => {
        if (typeof node.value !== 'string' || !node.value.includes('${env:')) return;
        // Keys are never substituted: only values.
        const parent = path[path.length - 1];
        if (isPair(parent) && parent.key === node) return;
        const whole = WHOLE_ENV_REF.exec(node.value);
        const missing: string[] = [];
        const lookup = (name: string, fallback: string | undefined): string => {
          const value = env[name];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          missing.push(name);
          return '';
        };
        if (whole) {
          const text = lookup(whole[1], whole[2]);
          // A value that is only a reference takes the YAML type of what it expands to (a port stays a number).
          node.value = text === '' ? '' : typedScalar(text);
        } else {
          node.value = node.value.replace(ENV_REF, (_m, name: string, fallback?: string) =>
            lookup(name, fallback),
          );
        }
        for (const name of missing) {
          const [line, col] = this.lineCol(node.range?.[0] ?? 0);
          this.diagnostics.push({
            file: this.file,
            line,
            col,
            severity: 'error',
            path: joinPath(pathOf(path, node)),
            message: `environment variable ${name} is not set and has no default (use \${env:${name}:-default})`,
            code: 'CFG_ENV_UNSET',
          });
        }
      },
    });
  }
}

function typedScalar(text: string): unknown {
  const parsed = parseDocument(text);
  const contents = parsed.contents;
  return parsed.errors.length === 0 && isScalar(contents) ? contents.value : text;
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** Rebuilds the dotted path of a node from the ancestor chain `visit` provides. */
function pathOf(ancestors: readonly unknown[], node: Scalar): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent) && isScalar(parent.key)) out.push(String(parent.key.value));
    if (isSeq(parent)) out.push(parent.items.indexOf(child as never));
  }
  return out;
}
