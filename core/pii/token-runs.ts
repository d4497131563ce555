/**
 * Secrets of unbounded length (API keys, JWTs, bearer credentials) are found in two steps that
 * keep the scan linear: the detector's expression matches only a bounded prefix ("sk-" and 20
 * key characters), and its validator measures the rest of the token here. A run of token
 * characters is measured once per scan and remembered, so a string that is one long run full of
 * prefixes ("sk-sk-sk-...", "-eyJ-eyJ-...") costs one pass over the run instead of one per prefix.
 */

const KEY = 1;
const BEARER = 2;

/** Token runs already measured in the string being scanned; reset by the scanner per string. */
export class RunCache {
  private kind = 0;
  private from = -1;
  /** Of the last run measured: where it ends, and its last digit (-1: none). */
  end = -1;
  lastDigit = -1;
  /** Where the JWT whose header run ends at `jwtHeaderEnd` ends (0: not a JWT). */
  private jwtHeaderEnd = -1;
  private jwtEnd = 0;

  reset(): void {
    this.kind = 0;
    this.jwtHeaderEnd = -1;
  }

  /**
   * Measures the run of `kind` characters from `from` (unless `from` lies in the run measured
   * last): sets `end` and `lastDigit`, the last digit at or after where that run was measured from.
   */
  run(input: string, from: number, kind: typeof KEY | typeof BEARER): this {
    if (this.kind !== kind || from < this.from || from >= this.end) {
      const accept = kind === KEY ? isKeyChar : isBearerChar;
      let i = from;
      let lastDigit = -1;
      for (; i < input.length; i++) {
        const c = input.charCodeAt(i);
        if (!accept(c)) break;
        if (c >= 48 && c <= 57) lastDigit = i;
      }
      this.kind = kind;
      this.from = from;
      this.end = i;
      this.lastDigit = lastDigit;
    }
    return this;
  }

  jwt(input: string, headerEnd: number): number {
    if (this.jwtHeaderEnd !== headerEnd) {
      this.jwtHeaderEnd = headerEnd;
      this.jwtEnd = jwtTail(input, headerEnd);
    }
    return this.jwtEnd;
  }
}

/** A-Z a-z 0-9 _ - : what OpenAI and Anthropic keys and base64url JWT segments are made of. */
function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/** RFC 6750 token68 characters without the trailing "=" padding: A-Z a-z 0-9 . _ ~ + / -. */
function isBearerChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 126 || c === 43 || c === 47 || c === 45;
}

/**
 * `sk-` then 20 or more key characters of which one is a digit (random keys have one; words like
 * "sk-learn-style-words" do not). Gets the match position; returns the key's length or 0.
 */
export function apiKeyLength(input: string, index: number, runs: RunCache): number {
  const body = index + 3;
  const { end, lastDigit } = runs.run(input, body, KEY);
  return end - body >= 20 && lastDigit >= body ? end - index : 0;
}

/**
 * `eyJ<header>.ey<payload>.<signature>`: header and payload at least 4 characters each, the
 * signature possibly empty. Gets the match position ("eyJ"); returns the token's length or 0.
 */
export function jwtLength(input: string, index: number, runs: RunCache): number {
  const header = index + 3;
  const { end } = runs.run(input, header, KEY);
  if (end - header < 4) return 0;
  const tokenEnd = runs.jwt(input, end);
  return tokenEnd === 0 ? 0 : tokenEnd - index;
}

/** After a header run ending at `headerEnd`: the end of ".ey<payload>.<signature>", or 0. */
function jwtTail(input: string, headerEnd: number): number {
  if (input.charCodeAt(headerEnd) !== 46 || input.charCodeAt(headerEnd + 1) !== 101 || input.charCodeAt(headerEnd + 2) !== 121) return 0;
  let i = headerEnd + 3;
  const payload = i;
  while (i < input.length && isKeyChar(input.charCodeAt(i))) i++;
  if (i - payload < 4 || input.charCodeAt(i) !== 46) return 0;
  i++;
  while (i < input.length && isKeyChar(input.charCodeAt(i))) i++;
  return i;
}

/**
 * The credential after "Bearer" and its blanks (`index`): 16 or more token characters including a
 * digit, then any "=" padding. Returns its length or 0.
 */
export function bearerCredentialLength(input: string, index: number, runs: RunCache): number {
  const { end, lastDigit } = runs.run(input, index, BEARER);
  if (end - index < 16 || lastDigit < index) return 0;
  let i = end;
  while (input.charCodeAt(i) === 61 /* = */) i++;
  return i - index;
}
