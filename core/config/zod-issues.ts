import type { z } from 'zod';
import type { YamlSource } from './yaml-source';

/** Stable diagnostic codes for zod's issue kinds. */
function codeFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'CFG_UNKNOWN_KEY';
    case 'invalid_type':
      return isMissing(issue) ? 'CFG_MISSING_KEY' : 'CFG_INVALID_TYPE';
    case 'too_small':
    case 'too_big':
      return 'CFG_OUT_OF_RANGE';
    case 'invalid_value':
    case 'invalid_union':
    case 'invalid_format':
      return 'CFG_INVALID_VALUE';
    case 'custom': {
      // A component's own check may name a more specific code: params: { code: 'CFG_DUPLICATE_ID' }.
      const code = (issue.params as { code?: unknown } | undefined)?.code;
      return typeof code === 'string' && /^CFG_[A-Z_]+$/.test(code) ? code : 'CFG_INVALID_VALUE';
    }
    default:
      return 'CFG_INVALID_VALUE';
  }
}

/** Reports every zod issue of a component's config at its YAML position. */
export function reportZodIssues(
  source: YamlSource,
  basePath: readonly (string | number)[],
  error: z.ZodError,
): void {
  for (const issue of error.issues) {
    const path = [...basePath, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        source.report(path, `unknown key "${key}"`, codeFor(issue), { atKey: key });
      }
      continue;
    }
    if (issue.code === 'invalid_type' && isMissing(issue)) {
      const key = path.pop();
      source.report(path, `missing required key "${String(key)}"`, codeFor(issue));
      continue;
    }
    source.report(path, issue.message, codeFor(issue));
  }
}

/** Needs the input on the issue: parse with `{ reportInput: true }`. */
function isMissing(issue: z.core.$ZodIssue): boolean {
  return 'input' in issue && issue.input === undefined;
}
