/**
 * Globs over names that come from clients (model names, attribute keys), matched in linear time:
 * a glob is translated into a regular expression for the linear-time engine (core/linear-regex),
 * so no glob (`*a*a*a*b`) and no name (megabytes of `claude`) can make a match backtrack.
 */
import { LinearRegex } from './linear-regex';

export interface GlobOptions {
  /** Case does not matter (`GPT-4o` is `gpt-4o`). */
  caseInsensitive?: boolean;
  /** `{a,b}` alternatives (nested allowed); otherwise braces are ordinary characters. */
  braces?: boolean;
  /** `?` is any one character but `/` (picomatch's rule for names that may be paths); default any. */
  questionMarkSkipsSlash?: boolean;
}

/** Names longer than this are matched without being remembered. */
const MAX_MEMO_LENGTH = 256;
/** Distinct names remembered per matcher; the memo is cleared when full. */
const MAX_MEMO_ENTRIES = 1024;

/**
 * One matcher for `globs` (a name matches when any glob matches all of it). Globs: `*` any run of
 * characters (`/` and `.` included; `**` is the same), `?` one character, `[abc]` `[a-z]` `[!a]`
 * `[^a]` one character of a set, `\x` the character x, and with `braces` `{a,b}` alternatives.
 * Answers for recent names are remembered: the same few model names recur on every span.
 */
export function globMatcher(globs: string | readonly string[], options: GlobOptions = {}): (name: string) => boolean {
  const list = typeof globs === 'string' ? [globs] : globs;
  const source = list.map((glob) => globToRegexSource(glob, options)).join('|');
  const regex = LinearRegex.compile(list.length === 0 ? '[^\\s\\S]' : `^(?:${source})$`, options.caseInsensitive ? 'is' : 's');
  const memo = new Map<string, boolean>();
  return (name) => {
    if (name.length > MAX_MEMO_LENGTH) return regex.testWhole(name);
    let answer = memo.get(name);
    if (answer === undefined) {
      answer = regex.testWhole(name);
      if (memo.size >= MAX_MEMO_ENTRIES) memo.clear();
      memo.set(name, answer);
    }
    return answer;
  };
}

const REGEX_SPECIAL = new Set('\\^$.|?*+()[]{}/-'.split(''));

function literal(c: string): string {
  return REGEX_SPECIAL.has(c) ? `\\${c}` : c;
}

/** The regular expression (JavaScript syntax, no anchors) that matches what `glob` matches. */
export function globToRegexSource(glob: string, options: GlobOptions = {}): string {
  let i = 0;
  /** Translates until `stop` (a set of characters ending a brace alternative) or the end. */
  const translate = (stops: string): string => {
    let out = '';
    while (i < glob.length) {
      const c = glob[i];
      if (stops.includes(c)) return out;
      if (c === '\\') {
        out += i + 1 < glob.length ? literal(glob[i + 1]) : '\\\\';
        i += 2;
      } else if (c === '*') {
        while (glob[i] === '*') i++;
        out += '.*';
      } else if (c === '?') {
        out += options.questionMarkSkipsSlash ? '[^/]' : '.';
        i++;
      } else if (c === '[') {
        const cls = bracket(glob, i);
        if (cls === undefined) {
          out += '\\[';
          i++;
        } else {
          out += cls.source;
          i = cls.end;
        }
      } else if (c === '{' && options.braces && braceGroup(glob, i) !== 'unclosed') {
        const alternativesFollow = braceGroup(glob, i) === 'alternatives';
        i++;
        const alternatives: string[] = [];
        for (;;) {
          alternatives.push(translate(alternativesFollow ? ',}' : '}'));
          if (glob[i++] === '}') break;
        }
        // A group without a comma is no choice: its braces are characters ({a} is "{a}").
        out += alternativesFollow ? `(?:${alternatives.join('|')})` : `\\{${alternatives[0]}\\}`;
      } else {
        out += literal(c);
        i++;
      }
    }
    return out;
  };
  return translate('');
}

/** `[...]` at `start` as a regex class and the index after it, or undefined when it does not close. */
function bracket(glob: string, start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < glob.length; i++) {
    const c = glob[i];
    if (c === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, end: i + 1 };
    first = false;
    if (c === '\\' && i + 1 < glob.length) {
      body += `\\${glob[++i]}`;
    } else if (c === '-' && body !== '' && glob[i + 1] !== ']') {
      body += '-';
    } else {
      body += c === '\\' || c === ']' || c === '[' || c === '^' || c === '-' ? `\\${c}` : c;
    }
  }
  return undefined;
}

/** Whether the `{` at `start` closes, and whether a `,` at its own level makes it alternatives. */
function braceGroup(glob: string, start: number): 'alternatives' | 'literal' | 'unclosed' {
  let depth = 0;
  let comma = false;
  for (let i = start; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === ',' && depth === 1) comma = true;
    else if (c === '}' && --depth === 0) return comma ? 'alternatives' : 'literal';
  }
  return 'unclosed';
}
