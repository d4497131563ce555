import { isIPv6 } from 'node:net';
import { cardLengthFits, ibanLength, luhnValid } from './checksums';
import type { BuiltinDetectorName } from './names';
import { apiKeyLength, bearerCredentialLength, jwtLength } from './token-runs';
import type { RunCache } from './token-runs';

/**
 * One alternative of the scanner's combined expression, with what the expression cannot say.
 *
 * Built-in patterns run on the JavaScript engine, which backtracks, so each is written to be
 * linear (see processors/redact/README.md, "Linear time"): every quantifier is bounded, or its
 * characters cannot occur again before the match ends (the domain after an "@" holds no "@"), and a token of
 * unbounded length is matched by a bounded prefix whose validator measures the rest (token-runs).
 */
export interface DetectorDefinition {
  /** Regular expression source without flags, backreferences or named groups. */
  pattern: string;
  /**
   * Only matches where a word starts (see WORD_START), which lets the scan skip most positions of
   * prose with one test. Custom detectors leave this off: their patterns are the operator's.
   */
  wordStart: boolean;
  /**
   * Rejects near-misses the pattern alone cannot tell apart (checksums, digit counts), or measures
   * a token the pattern matched the start of. Gets the candidate from its start (`index` in
   * `input`) and the scan's cache of measured token runs; returns how many characters to redact
   * from `index` (possibly more than the match), or 0 to reject it.
   */
  validate?: (match: string, input: string, index: number, runs: RunCache) => number;
  /**
   * Where the text to redact starts, when the pattern is anchored elsewhere: on a rare character
   * inside the value ("@", ":"), which the engine finds far faster than a value that may start
   * at any letter, or after a prefix that stays readable ("Bearer "). Default: the match start.
   */
  start?: (input: string, index: number) => number;
  /** The canonical spelling that is hashed, so one value written two ways hashes the same. */
  normalize?: (match: string) => string;
  /**
   * A character class (`[0-9+(]`) holding every character a match can start with. The scanner
   * then tries the detector only where such a character is. Absent: anywhere.
   */
  firstChars?: string;
}

/**
 * Not preceded by a letter, digit or _ unless that character is escaped (\n, \t, ...): text that
 * is JSON-escaped but not parseable JSON still has its values start after "\n".
 */
export const WORD_START = String.raw`(?<!(?<!\\)[A-Za-z0-9_])`;
/**
 * What WORD_START looks behind for, as characters to consume: an escape, a non-word character,
 * or the start of the input. Longest first, so the scanner's candidate range is as wide as it can
 * be (see Scanner). Must accept exactly the positions WORD_START accepts.
 */
export const WORD_DELIMITER = String.raw`\\[A-Za-z0-9_]|[^A-Za-z0-9_]|^`;
/** Not followed by more of the same token (a letter, digit or _). */
const WORD_END = String.raw`(?![A-Za-z0-9_])`;

const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
const IPV4 = String.raw`${OCTET}(?:\.${OCTET}){3}`;

function digitsOnly(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
  }
  return out;
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

const isLocalPartChar = (code: number): boolean => isAlnum(code) || code === 95 || code === 46 || code === 37 || code === 43 || code === 45;
const isHexChar = (code: number): boolean => (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);

/**
 * The start of the run of `accept` characters (at most `limit`) that ends at `index`. Stops before
 * a character that follows a backslash: in "\njohn@example.com" the "n" belongs to the escape.
 */
function walkBack(input: string, index: number, accept: (code: number) => boolean, limit: number): number {
  let i = index;
  while (i > 0 && index - i < limit && accept(input.charCodeAt(i - 1)) && input.charCodeAt(i - 2) !== 92) i--;
  return i;
}

function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

export const BUILTIN_DETECTORS: Readonly<Record<BuiltinDetectorName, DetectorDefinition>> = {
  // Anchored on the "@"; the local part is found by walking back from it.
  email: {
    pattern: String.raw`@(?<=[A-Za-z0-9._%+\-]@)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`,
    wordStart: false,
    firstChars: '@',
    start: (input, index) => walkBack(input, index, isLocalPartChar, Infinity),
    // The local part is empty when the text before the "@" was already redacted (url_credentials).
    validate: (match) => (match.charCodeAt(0) === 64 /* @ */ ? 0 : match.length),
    normalize: (s) => s.toLowerCase(),
  },
  // Three shapes, all needing a "+" or separators so that bare digit runs (epoch millis, ids)
  // never qualify: international (+country code, then groups), North American
  // ((555) 123-4567, 555-123-4567, 555.123.4567, 1-800-555-0199), and trunk-prefix national
  // (020 7946 0958, 06 12 34 56 78, 0170-1234567; a trunk 0 is followed by 1-9, as 00 is the
  // international prefix). Dots are not accepted after a trunk 0 because 01.05.2024 is a date.
  // National forms do not start right after another digit group: there they are the tail of a
  // longer number (an account number, a rejected IBAN). The validator bounds the digit count.
  // International groups are a separator and a digit run, or a "(0)"-style group (digits may
  // follow it directly): a digit run is never split two ways, so a failing candidate costs one
  // step per character, not one per way of grouping its digits.
  phone: {
    pattern: String.raw`(?:\+[1-9]\d{0,14}(?:[ .\-]?\(\d{1,5}\)\d{0,14}|[ .\-]\d{1,14}){0,6}|(?<![+.\-/:]|\d[ .\-])(?:1[ .\-])?(?:\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}|(?<![+.\-/:]|\d[ .\-])0[1-9]\d{0,3}(?:(?: \d{2,8}){1,4}|(?:\-\d{2,8}){1,3}))(?![A-Za-z0-9_]|[.\-/:]\d)`,
    wordStart: true,
    firstChars: '[+(0-9]',
    // E.164 allows up to 15 digits with the country code; national numbers have 9 to 11
    // (NANP: 10, or 11 with the leading 1; Europe with trunk 0: 9 to 11).
    validate: (match) => {
      const digits = countDigits(match);
      const ok = match.charCodeAt(0) === 43 /* + */ ? digits >= 8 && digits <= 15 : digits >= 9 && digits <= 11;
      return ok ? match.length : 0;
    },
    normalize: (s) => (s.startsWith('+') ? '+' : '') + digitsOnly(s),
  },
  // Issuer ranges start with 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6),
  // which also keeps epoch timestamps (1...) out; the length must fit the range and Luhn pass. Printed forms: contiguous, groups of four, or
  // Amex 4-6-5. Not after a "." so the digits of a double like 0.4111111111111111 are no card.
  payment_card: {
    pattern: String.raw`(?<![.,])(?:[2-6]\d{12,18}|[2-6]\d{3}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?|3[47]\d{2}[ \-]\d{6}[ \-]\d{5})(?![A-Za-z0-9_]|[.,]\d)`,
    wordStart: true,
    firstChars: '[2-6]',
    validate: (match) => {
      const digits = digitsOnly(match);
      return digits.length >= 13 && digits.length <= 19 && cardLengthFits(digits) && luhnValid(digits) ? match.length : 0;
    },
    normalize: digitsOnly,
  },
  // Upper case, contiguous or in groups separated by single spaces. The registry length for the
  // country decides where it ends; the mod-97 check digits decide whether it is one.
  iban: {
    pattern: String.raw`[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}`,
    wordStart: true,
    firstChars: '[A-Z]',
    validate: (match, input, index) => {
      const length = ibanLength(match);
      return length > 0 && !isAlnum(input.charCodeAt(index + length)) ? length : 0;
    },
    normalize: (s) => s.replace(/ /g, ''),
  },
  // Dashed or spaced. Area 000, 666 and 900-999, group 00 and serial 0000 were never issued.
  us_ssn: {
    pattern: String.raw`(?<![\-.])(?!000|666|9\d\d)\d{3}(?:\-(?!00)\d{2}\-(?!0000)\d{4}| (?!00)\d{2} (?!0000)\d{4})(?![A-Za-z0-9_]|[\-.]\d)`,
    wordStart: true,
    firstChars: '[0-9]',
    normalize: digitsOnly,
  },
  // A dotted quad is taken for an address even when it could be a four-part version number; a
  // "v" prefix or a fifth part (1.2.3.4.5) rules it out.
  ipv4: {
    pattern: String.raw`(?<!\.)${IPV4}(?![A-Za-z0-9_]|\.\d)`,
    wordStart: true,
    firstChars: '[0-9]',
  },
  // A loose candidate (hex groups and colons) checked by node:net, anchored on its first colon.
  // The lookahead wants a "::" or enough colons for eight groups (or six and an IPv4 tail), so
  // that times like 12:30:45 fail in the scan itself (at most six groups before a "::", since an
  // address has eight); and a group after the anchor followed by more of the address, so that
  // "::", "::1" and "a::b", which the validator would reject (fewer than three groups), fail first. Fewer than three groups (::, ::1, fe80::1)
  // identifies nobody and is too easily C++/Ruby "a::b", so it is left alone.
  ipv6: {
    pattern: String.raw`:(?<=(?<![A-Za-z0-9_:.])[0-9A-Fa-f]{0,4}:)(?=:?[0-9A-Fa-f]{1,4}[:.])(?=:|(?:[0-9A-Fa-f]{1,4}:){1,6}:|(?:[0-9A-Fa-f]{1,4}:){5}(?:[0-9A-Fa-f]{1,4}:|\d))(?:[0-9A-Fa-f]{0,4}:){1,7}(?:${IPV4}|[0-9A-Fa-f]{1,4})?(?![A-Za-z0-9_:]|\.[0-9A-Fa-f])`,
    wordStart: false,
    firstChars: ':',
    start: (input, index) => walkBack(input, index, isHexChar, 4),
    validate: (match) => {
      if (!isIPv6(match)) return 0;
      let groups = 0;
      for (const part of match.split(':')) if (part !== '') groups += part.includes('.') ? 2 : 1;
      return groups >= 3 ? match.length : 0;
    },
    normalize: (s) => s.toLowerCase(),
  },
  // OpenAI (sk-..., sk-proj-..., sk-svcacct-...) and Anthropic (sk-ant-api03-...). Random keys of
  // this length contain a digit; "sk-learn-style-words" do not. The expression takes "sk-" and 20
  // key characters; the validator measures the whole key and looks for the digit.
  api_key: {
    pattern: String.raw`sk\-[A-Za-z0-9_\-]{20}`,
    wordStart: true,
    firstChars: 's',
    validate: (_match, input, index, runs) => apiKeyLength(input, index, runs),
  },
  // Access key ids of long-term (AKIA) and temporary (ASIA) credentials.
  aws_access_key: {
    pattern: String.raw`(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}${WORD_END}`,
    wordStart: true,
    firstChars: 'A',
  },
  // Classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_) tokens.
  github_token: {
    pattern: String.raw`(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`,
    wordStart: true,
    firstChars: 'g',
  },
  slack_token: {
    pattern: String.raw`(?:xox[abeoprs]\-|xapp\-)[A-Za-z0-9\-]{10,}`,
    wordStart: true,
    firstChars: 'x',
  },
  // Header and payload are base64url JSON objects ("{" encodes to "ey"); the signature may be
  // empty (alg none).
  jwt: {
    pattern: String.raw`eyJ[A-Za-z0-9_\-]{4}`,
    wordStart: true,
    firstChars: 'e',
    validate: (_match, input, index, runs) => jwtLength(input, index, runs),
  },
  // Only the credential is replaced, so "Authorization: Bearer [REDACTED:BEARER_TOKEN]" still
  // reads as what it was. A digit and 16 characters keep prose ("bearer authentication") out.
  bearer_token: {
    pattern: String.raw`(?:Bearer|bearer|BEARER)[ \t]+[A-Za-z0-9._~+/\-]{16}`,
    wordStart: true,
    firstChars: '[Bb]',
    start: (input, index) => {
      let i = index + 'Bearer'.length;
      while (input.charCodeAt(i) === 32 || input.charCodeAt(i) === 9) i++;
      return i;
    },
    validate: (_match, input, index, runs) => bearerCredentialLength(input, index, runs),
  },
  // The whole block, headers included. A block cut off before its END line (a truncated prompt)
  // is redacted to the end of the string rather than half left in place.
  private_key: {
    pattern: String.raw`\-\-\-\-\-BEGIN[A-Z0-9 ]{0,32}PRIVATE KEY\-\-\-\-\-(?:[\s\S]*?\-\-\-\-\-END[A-Z0-9 ]{0,32}PRIVATE KEY\-\-\-\-\-|[\s\S]*)`,
    wordStart: false,
    firstChars: '-',
  },
  // user:password in a URL's authority (https://user:pw@host, postgres://app:secret@db:5432/x):
  // only the userinfo is replaced, so scheme and host stay readable. Anchored on "://"; the
  // password may hold "@" (the last "@" before the host ends it). A user without a password
  // (ssh://git@host) is not a credential.
  url_credentials: {
    pattern: String.raw`:\/\/(?<=[A-Za-z][A-Za-z0-9+.\-]{0,31}:\/\/)[^\s\/?#@:]{0,256}:[^\s\/?#]{0,256}@`,
    wordStart: false,
    firstChars: ':',
    start: (_input, index) => index + 3,
    validate: (match) => match.length - 1,
  },
};

/**
 * Order of the alternatives at one position: the most specific built-ins first (marked secrets
 * before the shapes they resemble). Custom detectors run before all of them (custom-detectors.ts).
 */
export const BUILTIN_PRIORITY: readonly BuiltinDetectorName[] = [
  'private_key',
  'url_credentials',
  'jwt',
  'bearer_token',
  'api_key',
  'aws_access_key',
  'github_token',
  'slack_token',
  'email',
  'iban',
  'us_ssn',
  'payment_card',
  'phone',
  'ipv4',
  'ipv6',
];
