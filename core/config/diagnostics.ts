/**
 * Config problems, reported all at once, one line each:
 *   pipelines.yaml:19:5 error processors.redact unknown key "rulez" [CFG_UNKNOWN_KEY]
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: Severity;
  /** Dotted YAML path of the node the problem belongs to ('' for the document root). */
  path: string;
  message: string;
  code: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const path = d.path === '' ? '(root)' : d.path;
  return `${d.file}:${d.line}:${d.col} ${d.severity} ${path} ${d.message} [${d.code}]`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Thrown by loaders when a config has errors; carries every diagnostic. */
export class ConfigError extends Error {
  readonly code = 'CFG_INVALID';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(
      `invalid configuration:\n${diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export function joinPath(path: readonly (string | number)[]): string {
  return path.map(String).join('.');
}
