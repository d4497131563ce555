/**
 * Regular expressions written by operators (rule patterns, custom redaction detectors, price
 * overrides, JSON Schema `pattern`s) run on RE2 (the re2js port): matching time grows linearly
 * with the input, whatever the pattern, so a span cannot freeze the event loop by feeding a
 * backtracking pattern the text it is worst at. Patterns are written in JavaScript syntax and
 * translated; what RE2 cannot run in linear time (lookahead, lookbehind, backreferences) is a
 * config error, reported by `linearRegexProblem` when the config loads.
 */
import { RE2JS } from 're2js';

/** Flags a pattern may carry: i (ignore case), m (multiline ^ $), s (dot matches newline), u. */
export const LINEAR_REGEX_FLAGS = 'imsu';

export class LinearRegexError extends Error {
  override readonly name = 'LinearRegexError';
}

/** A compiled pattern. Every method runs in time linear in the input's length. */
export class LinearRegex {
  private constructor(
    readonly source: string,
    readonly flags: string,
    private readonly re: RE2JS,
  ) {}

  /** Compiles `source` (JavaScript syntax) with `flags` (some of i, m, s, u); throws LinearRegexError. */
  static compile(source: string, flags = ''): LinearRegex {
    const problem = syntaxProblem(source, flags);
    if (problem !== undefined) throw new LinearRegexError(problem);
    try {
      return new LinearRegex(source, flags, RE2JS.compile(toRe2Syntax(source), re2Flags(flags)));
    } catch (err) {
      throw new LinearRegexError(`cannot run on the linear-time engine (RE2): ${(err as Error).message}`);
    }
  }

  /** Number of capturing groups. */
  get groupCount(): number {
    return this.re.groupCount();
  }

  /** True when the pattern matches somewhere in `text` (as RegExp.prototype.test without g). */
  test(text: string): boolean {
    return this.re.test(text);
  }

  /** True when the pattern matches the whole of `text`. */
  testWhole(text: string): boolean {
    return this.re.testExact(text);
  }

  /**
   * Calls `visit` for each match, leftmost first and without overlap, with its start and end
   * (UTF-16 indexes) and the lowest-numbered capturing group among `groups` that took part (or -1).
   * Empty matches are skipped; `visit` returning false stops the search. Strings without any
   * match cost one DFA pass and no allocation.
   */
  forEachMatch(text: string, visit: (start: number, end: number, group: number) => boolean | void, groups: readonly number[] = []): void {
    if (!this.re.test(text)) return;
    const m = this.re.matcher(text);
    while (m.find()) {
      const start = m.start();
      const end = m.end();
      if (end === start) continue;
      let group = -1;
      for (const g of groups) {
        if (m.start(g) >= 0) {
          group = g;
          break;
        }
      }
      if (visit(start, end, group) === false) return;
    }
  }
}

/**
 * Why `source` cannot be used as a linear-time pattern with `flags`, as a config message (it
 * names the construct and the way out), or undefined when it can.
 */
export function linearRegexProblem(source: string, flags = ''): string | undefined {
  try {
    LinearRegex.compile(source, flags);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const UNSUPPORTED =
  'which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name>';

/** JavaScript's own verdict first (the documented syntax), then what RE2 cannot do. */
function syntaxProblem(source: string, flags: string): string | undefined {
  for (let i = 0; i < flags.length; i++) {
    if (!LINEAR_REGEX_FLAGS.includes(flags[i]) || flags.indexOf(flags[i]) !== i) return `flags must be some of ${LINEAR_REGEX_FLAGS.split('').join(', ')}, each at most once`;
  }
  try {
    new RegExp(source, flags);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  const construct = unsupportedConstruct(source);
  return construct === undefined ? undefined : `uses ${construct}, ${UNSUPPORTED}`;
}

/** The first lookaround or backreference in `source`, named, or undefined. */
function unsupportedConstruct(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && next >= '1' && next <= '9') return `a backreference (\\${next})`;
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'a named backreference (\\k<...>)';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && source[i + 1] === '?') {
      const kind = source.slice(i + 2, i + 4);
      if (kind.startsWith('=')) return 'a lookahead (?=...)';
      if (kind.startsWith('!')) return 'a negative lookahead (?!...)';
      if (kind === '<=') return 'a lookbehind (?<=...)';
      if (kind === '<!') return 'a negative lookbehind (?<!...)';
    }
  }
  return undefined;
}

function re2Flags(flags: string): number {
  let out = 0;
  if (flags.includes('i')) out |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) out |= RE2JS.MULTILINE;
  if (flags.includes('s')) out |= RE2JS.DOTALL;
  return out;
}

/** What JavaScript's \s matches beyond RE2's ASCII [\t\n\f\r ]: \v and Unicode spaces. */
const JS_SPACE = String.raw`\t\n\v\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}`;

/**
 * JavaScript pattern syntax RE2 spells differently: \uXXXX and \u{X} escapes become \x{X}, \s
 * keeps JavaScript's meaning (Unicode spaces), and [^] (any character) becomes a full range.
 * Everything else is the same in both (classes, quantifiers, groups, (?<name>...), \d \w \b).
 */
export function toRe2Syntax(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (next === 'u') {
        const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(source.slice(i + 2, i + 10));
        const plain = /^[0-9A-Fa-f]{4}/.exec(source.slice(i + 2, i + 6));
        if (braced) {
          out += `\\x{${braced[1]}}`;
          i += 1 + braced[0].length;
          continue;
        }
        if (plain) {
          out += `\\x{${plain[0]}}`;
          i += 5;
          continue;
        }
      }
      if (next === 's') {
        out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
        i++;
        continue;
      }
      if (next === 'S' && !inClass) {
        out += `[^${JS_SPACE}]`;
        i++;
        continue;
      }
      out += c + next;
      i++;
      continue;
    }
    if (!inClass && c === '[' && source[i + 1] === '^' && source[i + 2] === ']') {
      out += String.raw`[\x{0}-\x{10FFFF}]`;
      i += 2;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}
