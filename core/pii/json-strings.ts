import { DROP } from './scanner';
import type { Dropped } from './scanner';

/**
 * String values and long numbers of a JSON text. Only valid JSON reaches this expression, so a
 * quote outside a string always opens one and a digit outside a string is always in a number;
 * numbers shorter than a card number cannot hold anything a detector looks for.
 */
const TOKEN = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"|-?\d[\d.eE+\-]{12,}/g;

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * True when `text` may be JSON worth parsing: an object or array, possibly within whitespace.
 * Both ends are checked, so that text that merely starts with a bracket ("[INFO] …", "{name} is")
 * is scanned as text at once instead of failing JSON.parse with an exception first.
 */
export function looksLikeJson(text: string): boolean {
  let start = 0;
  while (start < text.length && isJsonSpace(text.charCodeAt(start))) start++;
  let end = text.length - 1;
  while (end > start && isJsonSpace(text.charCodeAt(end))) end--;
  if (end <= start) return false;
  const open = text.charCodeAt(start);
  const close = text.charCodeAt(end);
  return (open === 123 /* { */ && close === 125) /* } */ || (open === 91 /* [ */ && close === 93) /* ] */;
}

/**
 * Applies `redactLeaf` to every string value (not object keys) and every long number of the JSON
 * document in `text`, rewriting only the tokens that changed, so numbers beyond 2^53, key order
 * and whitespace stay exactly as they were and the result is still valid JSON. A number that held
 * something becomes a JSON string (its replacement is text). Returns undefined when `text` is not
 * valid JSON, the original string when nothing changed, and DROP when any leaf was dropped.
 */
export function redactJsonStrings(
  text: string,
  redactLeaf: (leaf: string) => string | Dropped,
): string | Dropped | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  let out = '';
  let copied = 0;
  let from = 0;
  for (;;) {
    // Set on every turn: redactLeaf may recurse into a nested JSON document and move lastIndex.
    TOKEN.lastIndex = from;
    const m = TOKEN.exec(text);
    if (m === null) break;
    const token = m[0];
    const start = m.index;
    const end = start + token.length;
    from = end;
    const isString = token.charCodeAt(0) === 34;
    if (isString && isKey(text, end)) continue;
    const value = !isString ? token : token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
    const redacted = redactLeaf(value);
    if (redacted === DROP) return DROP;
    if (redacted === value) continue;
    out += text.slice(copied, start) + JSON.stringify(redacted);
    copied = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function isKey(text: string, after: number): boolean {
  let i = after;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
  }
  return text.charCodeAt(i) === 58; /* : */
}
